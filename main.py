#!/usr/bin/env python3
"""Run tconnectsync from a checkout: ``python main.py ...`` behaves as ``tconnectsync ...``."""
from tconnectsync.cli import main

if __name__ == "__main__":
    main()
