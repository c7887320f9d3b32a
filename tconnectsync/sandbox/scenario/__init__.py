"""The simulated pump's history (``make_scenario``), used by every fake Tandem host.

``model`` holds the ``Scenario`` (periods, time, windows), ``generate`` how a period is planned,
``truth`` the history as records for tests, ``therapy`` the pump's settings and bolus wording.
"""
from .model import Scenario, make_scenario
from .therapy import (ACTIVITY_NAMES, AUTO_TARGET, CF, CGM_OFFSET_S, CR, DEFAULT_PROFILE, DIA_S, IOB_OFFSET_S,
                      PATIENT_DOB, PATIENT_NAME, TARGET, bolus_description, bolus_texts)

__all__ = ["ACTIVITY_NAMES", "AUTO_TARGET", "CF", "CGM_OFFSET_S", "CR", "DEFAULT_PROFILE", "DIA_S", "IOB_OFFSET_S",
           "PATIENT_DOB", "PATIENT_NAME", "Scenario", "TARGET", "bolus_description", "bolus_texts", "make_scenario"]
