"""POS and integration REST API, /api/v1 (the contract is API.md)."""

from litestar import Router

from webapp.api.auth import require_api_key
from webapp.api.certificates import BonusGrantController, CertificateController
from webapp.api.members import MemberController
from webapp.api.promotions import CodeBatchController, PromotionController
from webapp.api.purchases import PurchaseController
from webapp.api.webhooks import WebhookController


def create_api_router() -> Router:
    return Router(
        path="/",
        route_handlers=[
            MemberController,
            PurchaseController,
            PromotionController,
            CodeBatchController,
            CertificateController,
            BonusGrantController,
            WebhookController,
        ],
        guards=[require_api_key],
    )


__all__ = ["create_api_router"]
