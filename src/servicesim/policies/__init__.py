"""Inventory policies (DOMAIN §5): one module per family behind one interface
(:mod:`.base`), the families by name (:mod:`.registry`), and their derivation from service
targets (:mod:`.derivation`).
"""
