"""Inventory policies and their derivation from service targets (DOMAIN §5).
"""
