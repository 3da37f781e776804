#!/usr/bin/env python3
"""Trains the reference LSTM/GRU configuration with PyTorch on CPU and prints samples/s as one JSON line.

The windows come from flts itself (bench/compare-pytorch.mjs writes the exact scaled fit windows flts trains
on: x.f32 [n, seq, features], y.f32 [n, outputs], meta.json), so both sides train on identical data.
Like the reference system: nn.LSTM/nn.GRU(batch_first) -> last step -> nn.Linear, Adam, MSE, shuffled
mini-batches. The first epoch is a warm-up and is not timed.

Usage: python bench/pytorch_train.py --windows DIR [--epochs 3] [--batches 100] [--model LSTM] [--threads N]
"""
import argparse
import json
import os
import platform
import time

import numpy as np
import torch


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--windows", required=True)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batches", type=int, default=100, help="batches per epoch (0 = all windows)")
    parser.add_argument("--model", default="LSTM", choices=["LSTM", "GRU"])
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0 = torch default)")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    meta = json.load(open(os.path.join(args.windows, "meta.json")))
    n, seq, features, outputs = meta["size"], meta["inputSeqLen"], meta["features"], meta["outputs"]
    x = torch.from_numpy(np.fromfile(os.path.join(args.windows, "x.f32"), dtype=np.float32).reshape(n, seq, features))
    y = torch.from_numpy(np.fromfile(os.path.join(args.windows, "y.f32"), dtype=np.float32).reshape(n, outputs))
    if args.batches > 0:
        n = min(n, args.batches * args.batch_size)
        x, y = x[:n].contiguous(), y[:n].contiguous()

    rnn_class = torch.nn.LSTM if args.model == "LSTM" else torch.nn.GRU

    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.rnn = rnn_class(features, args.hidden, args.layers, batch_first=True)
            self.fc = torch.nn.Linear(args.hidden, outputs)

        def forward(self, inputs: torch.Tensor) -> torch.Tensor:
            out, _ = self.rnn(inputs)
            return self.fc(out[:, -1, :])

    net = Net()
    optimizer = torch.optim.Adam(net.parameters(), lr=args.lr)
    loss_fn = torch.nn.MSELoss()
    generator = torch.Generator().manual_seed(args.seed)
    timed_seconds = 0.0
    timed_samples = 0
    losses = []
    cpu_before = time.process_time()
    for epoch in range(args.epochs):
        start = time.perf_counter()
        order = torch.randperm(n, generator=generator)
        total = 0.0
        for b in range(0, n, args.batch_size):
            idx = order[b : b + args.batch_size]
            optimizer.zero_grad()
            loss = loss_fn(net(x[idx]), y[idx])
            loss.backward()
            optimizer.step()
            total += loss.item() * len(idx)
        elapsed = time.perf_counter() - start
        losses.append(total / n)
        if epoch > 0 or args.epochs == 1:
            timed_seconds += elapsed
            timed_samples += n
    cpu_seconds = time.process_time() - cpu_before
    print(
        json.dumps(
            {
                "framework": "pytorch",
                "torch": torch.__version__,
                "python": platform.python_version(),
                "threads": torch.get_num_threads(),
                "model": args.model,
                "samples_per_epoch": n,
                "epochs": args.epochs,
                "samples_per_sec": timed_samples / timed_seconds,
                "samples_per_cpu_sec": n * args.epochs / cpu_seconds,
                "losses": losses,
            }
        )
    )


if __name__ == "__main__":
    main()
