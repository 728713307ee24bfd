"""Train the address tagger on synthetic addresses: ``python -m geo.address.train``.

    .venv/bin/python -m geo.address.train [--n 30000] [--seed 0] [--iterations 100] [--c1 6]
        [--c2 0.01] [--out PATH]

The training data are the project's own generated addresses (:mod:`geo.address.generate`);
no labelled corpus is read. The same arguments give the same model file.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from geo.address.crf import MODEL_PATH, features, token_rules, tokens
from geo.address.divisions import DivisionIndex, load_divisions
from geo.address.generate import Piece, generate_many
from geo.address.normalize import normalize
from geo.address.parse import _parse_normalized


def example(pieces: list[Piece], index: DivisionIndex) -> tuple[list[list[str]], list[str]]:
    """Features and gold BIO tags of one generated address, on its normalised text."""
    text = "".join(t for t, _ in pieces)
    owner: list[int] = []
    for k, (t, _) in enumerate(pieces):
        owner += [k] * len(t)
    normalized = normalize(text)
    s = normalized.text
    spans = tokens(s)
    tags, previous = [], None
    for k, _ in spans:
        piece = owner[normalized.starts[k]]
        label = pieces[piece][1]
        if not label:
            tags.append("O")
        else:
            tags.append(("I-" if piece == previous else "B-") + label)
        previous = piece
    rule = token_rules(_parse_normalized(s, index), spans)
    return features(s, spans, rule), tags


def train(
    out: Path,
    *,
    n: int = 30000,
    seed: int = 0,
    iterations: int = 100,
    c1: float = 6.0,
    c2: float = 0.01,
) -> dict:
    """Generate `n` addresses, train the CRF and write it to `out`; return a summary."""
    import pycrfsuite

    index = load_divisions()
    trainer = pycrfsuite.Trainer(verbose=False)
    for pieces in generate_many(n, seed=seed):
        xseq, yseq = example(pieces, index)
        if xseq:
            trainer.append(xseq, yseq)
    trainer.set_params(
        {"c1": c1, "c2": c2, "max_iterations": iterations, "feature.possible_transitions": True}
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    trainer.train(str(out))
    return {"addresses": n, "seconds": time.perf_counter() - start, "bytes": out.stat().st_size}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=30000, help="synthetic addresses")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--iterations", type=int, default=100)
    # strong L1: the model learns from synthetic addresses and must not lean on their quirks
    parser.add_argument("--c1", type=float, default=6.0, help="L1 regularisation")
    parser.add_argument("--c2", type=float, default=0.01, help="L2 regularisation")
    parser.add_argument("--out", type=Path, default=MODEL_PATH)
    args = parser.parse_args(argv)
    summary = train(
        args.out, n=args.n, seed=args.seed, iterations=args.iterations, c1=args.c1, c2=args.c2
    )
    print(
        f"trained on {summary['addresses']:,} synthetic addresses in {summary['seconds']:.0f} s; "
        f"{args.out} ({summary['bytes'] / 1e6:.2f} MB)"
    )


if __name__ == "__main__":
    main()
