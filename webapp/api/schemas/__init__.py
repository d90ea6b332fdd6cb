"""Typed bodies of /api/v1 (msgspec Structs), so the OpenAPI document describes every field and bound."""

from webapp.api.schemas.members import Balance, Member, Registration, TransactionPage
from webapp.api.schemas.offers import PersonalOffer, PersonalOffers
from webapp.api.schemas.problems import FieldProblem, ProblemDetails, problem_responses
from webapp.api.schemas.purchases import Calculation, Confirmation, Receipt, RefundBody, RefundResult

__all__ = [
    "Balance",
    "Calculation",
    "Confirmation",
    "FieldProblem",
    "Member",
    "PersonalOffer",
    "PersonalOffers",
    "ProblemDetails",
    "Receipt",
    "RefundBody",
    "RefundResult",
    "Registration",
    "TransactionPage",
    "problem_responses",
]
