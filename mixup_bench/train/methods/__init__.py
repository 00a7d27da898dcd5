"""The built-in mixing methods beyond MixUp's first neighbours, one module each (FMix, ResizeMix,
SaliencyMix, GridMix, SmoothMix, RegMixup). Each is a `train.mixup.Mixer`, draws only from the
generator it is given, and names in its docstring the paper and the reference code it was checked
against (tests/train/test_methods.py, with the reference ports in tests/train/method_references.py).
"""
