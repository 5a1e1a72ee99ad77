#!/usr/bin/env python3
"""Writes reference outputs from Python torchvision for the C++ parity tests.

Usage: make_references.py OUT_DIR

For every torchvision-backed member: a torchvision model with fixed random weights (and
randomised BatchNorm statistics, so eval-mode BN is not the identity), its state dict saved
with torch.save - as the usual OrderedDict for half of the members and as a plain dict for
the others, since users bring either - and <name>.io.pt, a plain dict holding
  input        [2, 3, S, S] at the member's native side S
  logits       eval-mode output for `input`
  param_count  torchvision's parameter count at 1000 classes (int64 scalar)
Writes OUT_DIR/DONE last; an existing DONE with the same script version is reused.
"""
import hashlib
import os
import sys

import torch
import torchvision.models as tvm

# (member name in the registry, torchvision constructor, kwargs, native side, OrderedDict?)
MEMBERS = [
    ("alexnet", "alexnet", {}, 224, True),
    ("vgg16", "vgg16", {}, 224, False),
    ("vgg19", "vgg19", {}, 224, True),
    ("squeezenet", "squeezenet1_1", {}, 224, False),
    ("googlenet", "googlenet", dict(aux_logits=False, init_weights=True, transform_input=False), 224, True),
    ("inceptionv3", "inception_v3", dict(aux_logits=False, init_weights=True, transform_input=False), 299, False),
    ("resnet18", "resnet18", {}, 224, True),
    ("resnet50", "resnet50", {}, 224, False),
    ("resnet101", "resnet101", {}, 224, True),
    ("densenet201", "densenet201", {}, 224, False),
    ("mobilenetv2", "mobilenet_v2", {}, 224, True),
    ("shufflenet", "shufflenet_v2_x1_0", {}, 224, False),
]


def randomise_batchnorm(model, gen):
    """Eval-mode BN with fresh statistics is the identity; give it something to compute."""
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            c = m.num_features
            with torch.no_grad():
                m.running_mean.copy_(torch.randn(c, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(c, generator=gen) + 0.5)
                if m.affine:
                    m.weight.copy_(torch.rand(c, generator=gen) + 0.5)
                    m.bias.copy_(torch.randn(c, generator=gen) * 0.1)
                m.num_batches_tracked.fill_(7)


def version():
    with open(__file__, "rb") as f:
        return hashlib.sha1(f.read()).hexdigest() + " torch " + torch.__version__


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    done = os.path.join(out, "DONE")
    stamp = version()
    if os.path.exists(done) and open(done).read().strip() == stamp:
        print("references up to date in", out)
        return
    if os.path.exists(done):
        os.remove(done)
    torch.set_num_threads(2)
    for i, (name, ctor, kwargs, side, ordered) in enumerate(MEMBERS):
        torch.manual_seed(1000 + i)
        gen = torch.Generator().manual_seed(2000 + i)
        model = getattr(tvm, ctor)(weights=None, **kwargs)
        randomise_batchnorm(model, gen)
        model.eval()
        param_count = sum(p.numel() for p in model.parameters())
        x = torch.randn(2, 3, side, side, generator=gen)
        with torch.no_grad():
            logits = model(x)
        sd = model.state_dict()
        torch.save(sd if ordered else dict(sd), os.path.join(out, name + ".pt"))
        torch.save({"input": x, "logits": logits, "param_count": torch.tensor(param_count)},
                   os.path.join(out, name + ".io.pt"))
        print(f"{name}: {param_count} parameters, state dict as {'OrderedDict' if ordered else 'dict'}",
              flush=True)
    with open(done, "w") as f:
        f.write(stamp + "\n")


if __name__ == "__main__":
    main()
