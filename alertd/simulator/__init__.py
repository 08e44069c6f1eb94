"""Simulated Pitchey traffic with scripted incidents, written into the AE emulator.

`timeline` reads what goes wrong and when, `traffic` turns a timeline into data points
(pure and deterministic), `writer` posts them to the emulator, as a historical range at
once or live as a clock advances.
"""
