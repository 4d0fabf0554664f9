"""CNN visualisation pages and API (feature maps, digits, activations, autoencoder)."""

urlpatterns: list = []
api_urlpatterns: list = []
