"""The fitted answer model: which sentence answers, and how sure that is (rag/answer_model.json).

Linear models fitted on labelled public data by `make fit` (evals/fit.py), never by hand:

- the **ranker** scores every candidate sentence from its features (rag.extract.FEATURES): a conditional logit, fitted
  as a choice among each question's candidates. The best-scoring sentence answers. A one-feature **calibration**
  turns its score into the probability that the sentence holds the answer (a passage's relevance).
- the **confidence** model reads the top candidate's score, its lead over the runner-up and the top candidate's own
  features, and gives the calibrated probability that the answer is right. Below THRESHOLD (chosen on validation data, see the README) the answerer
  refuses.
- the **window** model says whether the clauses around the value still hold the answer the whole sentence holds
  (short answers where that is safe, the sentence where it is not).

Scoring is a dot product: numpy only, loaded once, no import that costs the cold start.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

MODEL_PATH = Path(__file__).resolve().parent / "answer_model.json"


@dataclass(frozen=True)
class Linear:
    """A linear model over named features, standardised as fitted (a logistic regression, or the ranker's
    conditional logit, whose bias is 0)."""

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float

    @classmethod
    def from_json(cls, obj: Mapping) -> Linear:
        return cls(tuple(obj["features"]), tuple(obj["mean"]), tuple(obj["scale"]), tuple(obj["weights"]),
                   float(obj["bias"]))

    def to_json(self) -> dict:
        return {"features": list(self.features), "mean": [round(x, 6) for x in self.mean],
                "scale": [round(x, 6) for x in self.scale], "weights": [round(x, 6) for x in self.weights],
                "bias": round(self.bias, 6)}

    def logit(self, row: Mapping[str, float]) -> float:
        """The log-odds; a feature the row lacks counts as its fitted mean (it neither adds nor takes away)."""
        z = self.bias
        for name, mu, sd, w in zip(self.features, self.mean, self.scale, self.weights, strict=True):
            z += w * (float(row.get(name, mu)) - mu) / sd
        return z




@dataclass(frozen=True)
class AnswerModel:
    ranker: Linear
    confidence: Linear
    threshold: float
    window: Linear | None = None
    clause_sure: float = 1.01  # the window model's probability from which a clause answers (fitted; >1: never)
    calibration: Linear | None = None  # ranker logit -> log-odds that the sentence holds the answer

    def sentence_probability(self, logit: float) -> float:
        """The probability that a sentence of this ranker logit holds the answer (calibrated on unseen articles)."""
        return sigmoid(self.calibration.logit({"logit": logit}) if self.calibration is not None else logit)

    def clause_suffices(self, features: Mapping[str, float]) -> bool:
        return self.window is not None and sigmoid(self.window.logit(features)) >= self.clause_sure

    def sentence_logit(self, features: Mapping[str, float]) -> float:
        return self.ranker.logit(features)

    def confidence_of(self, logits: Sequence[float], features: Mapping[str, float] | None = None) -> float:
        """Calibrated probability that the best of these candidates (logits best first) answers the question."""
        if not logits:
            return 0.0
        top = logits[0]
        second = logits[1] if len(logits) > 1 else top - 10.0
        row = {"top_logit": top, "margin": min(top - second, 10.0),
               **{f"top_{k}": v for k, v in (features or {}).items()}}
        return sigmoid(self.confidence.logit(row))


def sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


@functools.lru_cache(maxsize=4)
def load(path: Path = MODEL_PATH) -> AnswerModel:
    obj = json.loads(Path(path).read_text(encoding="utf-8"))
    window = Linear.from_json(obj["window"]) if obj.get("window") else None
    calibration = Linear.from_json(obj["calibration"]) if obj.get("calibration") else None
    return AnswerModel(Linear.from_json(obj["ranker"]), Linear.from_json(obj["confidence"]), float(obj["threshold"]),
                       window, float(obj.get("clause_sure", 1.01)), calibration)


def model() -> AnswerModel:
    return load(MODEL_PATH)
