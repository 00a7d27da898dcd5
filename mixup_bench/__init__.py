"""mixup-bench: see what MixUp does to a CNN on CIFAR-10, with honest statistics."""

__version__ = "0.1.0"
