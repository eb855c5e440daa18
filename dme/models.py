"""Equipment catalogue, stock, serialized assets, orders, deliveries, rentals."""
