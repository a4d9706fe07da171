"""What runs on the array: layer shapes, int8 models and data."""
