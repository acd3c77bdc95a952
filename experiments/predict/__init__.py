"""Classifying images of digits with a trained network: an image turned into MNIST's form, and the sweep-predict command."""
