"""The simulated pump's settings and the words it uses for boluses (shared by every host)."""
import datetime as dt

DEFAULT_PROFILE = (("00:00", 0.80), ("06:00", 1.10), ("11:00", 0.95), ("17:00", 1.00), ("22:00", 0.85))
CF = 40              # correction factor, mg/dL per unit
CR = 8               # carb ratio, g per unit
TARGET = 110         # mg/dL, manual boluses
AUTO_TARGET = 160    # mg/dL, as written on Control-IQ automatic boluses
DIA_S = 5 * 3600     # insulin duration for the IOB model
CGM_OFFSET_S = 153   # readings at hh:m2:33 / hh:m7:33 like the fixtures
IOB_OFFSET_S = 19
ACTIVITY_NAMES = {1: "Sleep", 2: "Exercise", 3: "AutoBolus", 4: "CarbOnly"}
PATIENT_NAME = "Alex Sample"
PATIENT_DOB = dt.date(1990, 1, 1)


def bolus_texts(b, html=False):
    """(Description, BolusType, BolusRequestOptions, EventHistoryReportEventDesc, details)."""
    if b.kind == "std":
        desc, btype, opts, ehr = "Standard", "Carb", "Standard", "Food Bolus"
    elif b.kind == "stdcorr":
        desc, btype, opts, ehr = "Standard/Correction", "Carb", "Standard/Correction", "Correction & Food Bolus"
    elif b.kind == "auto":
        desc, btype, opts, ehr = ("Automatic Bolus/Correction", "Automatic Correction",
                                  "Automatic Bolus/Correction", "Correction Bolus")
    else:
        pct = "&#37;" if html else "%"
        desc = "Extended %.2f%%/0.00" % b.ext_percent
        btype, opts = "Carb", "Extended"
        ehr = "Food Bolus: %d%s Extended %d mins" % (b.ext_percent, pct, b.ext_minutes)
    if b.kind == "auto":
        details = "CF 1:%d - Carb Ratio 1:0 - Target BG %d" % (CF, AUTO_TARGET)
    else:
        details = "CF 1:%d - Carb Ratio 1:%d - Target BG %d" % (CF, CR, TARGET)
    if b.override:
        details += "%sOverride: Pump calculated Bolus = %.1f units" % ("<br/>" if html else " | ", b.calc_total)
    return desc, btype, opts, ehr, details


def bolus_description(b):
    return bolus_texts(b)[0]
