# A pyscripts rating script: prices instances by flavor and volumes by the
# GiB. The sandbox gives the script one variable, ``data`` (the frame being
# rated); whatever ``data`` holds at the end is the rated frame.
from decimal import Decimal

# Price of one instance for one period, by flavor name.
FLAVOR_PRICES = {
    "m1.small": Decimal("0.05"),
    "m1.large": Decimal("0.20"),
}
DEFAULT_FLAVOR_PRICE = Decimal("0.10")
# Price of one GiB for one period.
GIB_PRICE = Decimal("0.0004")


def process(data):
    for point in data["usage"].get("instance", []):
        flavor = point["metadata"].get("flavor_name")
        price = FLAVOR_PRICES.get(flavor, DEFAULT_FLAVOR_PRICE) * point["vol"]["qty"]
        # Add to what earlier modules priced, as hashmap does.
        point["rating"]["price"] += price
    for point in data["usage"].get("volume.size", []):
        point["rating"]["price"] += GIB_PRICE * point["vol"]["qty"]
    return data


data = process(data)  # noqa: F821 - ``data`` is provided by the sandbox
