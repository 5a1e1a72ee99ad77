#!/usr/bin/python3
"""Python/torchvision counterpart of train-speed (issue 5): training images/s of the same
architecture, timed the same way.

One step, as gradgate::train_step (src/train/train_step.cpp) does it: optimizer.zero_grad(),
forward in train mode, class-weighted cross-entropy (weights 1, 1: the --balance loss weights
of a balanced batch), backward, optimizer.step(), loss.item(). The optimiser is ensemble-train's
default: AdamW(lr 1e-3, weight_decay 1e-4, betas (0.9, 0.999), eps 1e-8), given explicitly
because torch's AdamW defaults to weight_decay 1e-2. The model is
torchvision.models.<name>(weights=None, num_classes=2); googlenet and inception_v3 with
aux_logits=False, init_weights=True, as in zoo_speed.py. One fixed random batch
(--batch images at --side px; inception_v3 at max(side, 160) px, as train-speed).

Prints zoo-speed's line format (preset column "full", width 1):
  RESULT py <member> full <batch> <side> 1 <median_ms per step> <images_per_s> <steps>
  NA     py <member> full <batch> <side> 1 <reason>
bench/run_train_speed.sh runs it alternately with train-speed and prints the table with
zoo_speed.py --summarize. Must run with /usr/bin/python3 (Debian's torch 1.13 / torchvision
0.14, the same libtorch_cpu the C++ side links).
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import zoo_speed  # noqa: E402  (MEMBERS, build, time_calls)

# train-speed's default: the members torchvision also builds.
DEFAULT_MEMBERS = ("alexnet,vgg16,vgg19,squeezenet,googlenet,inceptionv3,resnet18,resnet50,"
                   "resnet101,densenet201,mobilenetv2,shufflenet")
# ensemble-train's defaults (include/gradgate/train.h, TrainOptions).
LR = 1e-3
WEIGHT_DECAY = 1e-4


def side_for(member, side):
    # inceptionv3's unpadded stride-2 stem needs a larger input; as train_speed.cpp.
    return max(side, 160) if member == "inceptionv3" else side


def step_parts(model, opt, loss_fn, x, y, steps):
    """The step cut into its four parts, each timed on its own (median over `steps` steps after
    one untimed step), as train_speed.cpp's step_parts."""
    import statistics
    import time

    times = {"zero_grad": [], "forward": [], "backward": [], "step": []}
    for i in range(steps + 1):
        t = time.perf_counter()
        opt.zero_grad()
        tz = time.perf_counter() - t
        t = time.perf_counter()
        loss = loss_fn(model(x), y)
        tf = time.perf_counter() - t
        t = time.perf_counter()
        loss.backward()
        tb = time.perf_counter() - t
        t = time.perf_counter()
        opt.step()
        loss.item()
        ts = time.perf_counter() - t
        if i == 0:
            continue  # untimed: the first step allocates the optimiser state
        for k, v in zip(times, (tz, tf, tb, ts)):
            times[k].append(v)
    return "\t".join(f"{k}_ms={statistics.median(v) * 1e3:.1f}" for k, v in times.items())


def run(args):
    import torch

    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)  # as gradgate::configure_threads
    print(f"INFO\tpy\tthreads={torch.get_num_threads()} "
          f"interop_threads={torch.get_num_interop_threads()} "
          f"mkldnn={'on' if torch.backends.mkldnn.enabled else 'off'} torch={torch.__version__} "
          f"optimizer=adamw lr={LR:g} weight_decay={WEIGHT_DECAY:g} loss=cross_entropy(class weights)",
          flush=True)
    known = {m[0]: m for m in zoo_speed.MEMBERS}
    names = [m[0] for m in zoo_speed.MEMBERS] if args.members == "all" else args.members.split(",")
    for name in names:
        if name not in known:
            sys.exit(f"train_speed.py: unknown member '{name}'; valid: {', '.join(known)}")
    y = torch.arange(args.batch) % 2
    loss_fn = torch.nn.CrossEntropyLoss(weight=torch.ones(2))
    for name in names:
        tv_name = known[name][1]
        side = side_for(name, args.side)
        key = f"py\t{name}\tfull\t{args.batch}\t{side}\t1"
        if tv_name is None:
            print(f"NA\t{key}\tnot in torchvision", flush=True)
            continue
        try:
            torch.manual_seed(0)
            model = zoo_speed.build(tv_name, num_classes=2).train()
            opt = torch.optim.AdamW(model.parameters(), lr=LR, betas=(0.9, 0.999), eps=1e-8,
                                    weight_decay=WEIGHT_DECAY)
            x = torch.randn(args.batch, 3, side, side)

            def step():
                opt.zero_grad()
                loss = loss_fn(model(x), y)
                loss.backward()
                opt.step()
                return loss.item()

            med, iters = zoo_speed.time_calls(step, args.warmup, args.min_time, args.min_iters,
                                              args.max_iters)
            print(f"RESULT\t{key}\t{med * 1e3:.3f}\t{args.batch / med:.3f}\t{iters}", flush=True)
            if args.parts:
                print(f"PART\t{key}\t{step_parts(model, opt, loss_fn, x, y, max(args.min_iters, 3))}",
                      flush=True)
        except Exception as e:  # report and go on with the next member
            print(f"NA\t{key}\t{str(e).splitlines()[0]}", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--members", default=DEFAULT_MEMBERS, help="comma-separated member names, or all")
    ap.add_argument("--side", type=int, default=128, help="input side (inceptionv3: at least 160)")
    ap.add_argument("--batch", type=int, default=16, help="images per training step")
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    ap.add_argument("--warmup", type=int, default=1, help="untimed steps before timing")
    ap.add_argument("--min-time", type=float, default=3.0)
    ap.add_argument("--min-iters", type=int, default=3)
    ap.add_argument("--max-iters", type=int, default=1000)
    ap.add_argument("--parts", action="store_true",
                    help="also time the step's parts apart (PART lines: zero_grad, forward + loss, "
                         "backward, optimiser step)")
    run(ap.parse_args())


if __name__ == "__main__":
    main()
