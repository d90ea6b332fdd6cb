from __future__ import annotations

from httpx import AsyncClient


async def test_register_calculate_confirm_refund(client: AsyncClient) -> None:
    r = await client.post("/api/v1/members", json={"phone": "8 (912) 345-67-89", "consents": {"sms": True}})
    assert r.status_code == 201, r.text
    member = r.json()
    assert member["phone"] == "+79123456789"
    assert member["balance"]["available"] == 100
    body = {"store_id": "msk-001", "receipt_id": "A-1", "member": {"phone": "+79123456789"},
            "lines": [{"sku": "1", "name": "Coffee", "category": "food", "quantity": 1, "price": 25000,
                       "amount": 25000}], "redeem": "max"}
    r = await client.post("/api/v1/purchases/calculate", json=body)
    assert r.status_code == 200, r.text
    calc = r.json()
    assert calc["redeem"] == {"requested": "max", "applied": 100, "max": 100}
    r = await client.post("/api/v1/purchases", json=body)
    assert r.status_code == 201, r.text
    r2 = await client.post("/api/v1/purchases", json=body)
    assert r2.status_code == 200
    assert r2.json() == r.json()
    r = await client.post("/api/v1/purchases/msk-001/A-1/refunds", json={"refund_id": "R1", "amount": 25000})
    assert r.status_code == 201, r.text
    print(r.json())
