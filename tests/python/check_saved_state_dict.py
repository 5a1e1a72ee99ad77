#!/usr/bin/env python3
"""Loads a state dict written by gradgate's save_state_dict into a torchvision model.

Usage: check_saved_state_dict.py STATE_DICT TORCHVISION_CTOR OUT
Strict load_state_dict (every key, every shape), then writes to OUT (torch.save of a plain
dict) the eval-mode logits for a batch of ones [1, 3, 224, 224].
"""
import sys

import torch
import torchvision.models as tvm


def main():
    path, ctor, out = sys.argv[1:4]
    model = getattr(tvm, ctor)(weights=None)
    model.load_state_dict(torch.load(path), strict=True)
    model.eval()
    with torch.no_grad():
        logits = model(torch.ones(1, 3, 224, 224))
    torch.save({"logits": logits}, out)


if __name__ == "__main__":
    main()
