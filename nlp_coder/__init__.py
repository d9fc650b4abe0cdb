"""nlp-coder: OPCS-4 procedure coding for free-text operation notes."""
from .engine import Engine
from .results import CodingResult, CodeAssignment, Evidence, Question

__all__ = ["Engine", "CodingResult", "CodeAssignment", "Evidence", "Question"]
__version__ = "0.1.0"
