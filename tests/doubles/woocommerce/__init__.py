"""A fake WooCommerce store (REST v3 and the Shipment Tracking extension) that refuses what WooCommerce refuses."""
