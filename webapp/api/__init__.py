"""POS and integration REST API, /api/v1 (the contract is API.md)."""

from litestar import Router
from litestar.openapi.spec import Components, SecurityScheme

from webapp.api.auth import require_api_key
from webapp.api.certificates import BonusGrantController, CertificateController
from webapp.api.members import MemberController
from webapp.api.partners import PartnerController
from webapp.api.promotions import CodeBatchController, PromotionController
from webapp.api.purchases import PurchaseController
from webapp.api.stores import StoreController
from webapp.api.webhooks import WebhookController


def api_key_scheme() -> Components:
    """The OpenAPI components naming the API's Bearer key (fresh per app: Litestar adds its schemas to them)."""
    return Components(
        security_schemes={
            "ApiKey": SecurityScheme(
                type="http", scheme="bearer", description="a key from `loyalty apikey create NAME`"
            )
        }
    )


def create_api_router() -> Router:
    return Router(
        path="/",
        route_handlers=[
            MemberController,
            PurchaseController,
            PartnerController,
            PromotionController,
            CodeBatchController,
            CertificateController,
            BonusGrantController,
            WebhookController,
            StoreController,
        ],
        guards=[require_api_key],
        security=[{"ApiKey": []}],
    )


__all__ = ["api_key_scheme", "create_api_router"]
