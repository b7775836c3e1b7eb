"""Experiments that separate what NeuroMFA measures from the scale of the weights."""
