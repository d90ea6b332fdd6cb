"""Promotions: discounts, bundles, boosted accrual, promo codes, gift certificates, bonus grants."""
