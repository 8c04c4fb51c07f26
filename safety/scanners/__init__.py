"""Pure scanners (no Django): model files for pickled code, text for secrets, datasets for
personal data. Callers pass file objects, limits and clocks; results are plain values."""
