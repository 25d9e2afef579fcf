"""`channelhub inspect` shows real orders as an import would make them: a line without a SKU marked (the order
would be held), non-stock lines marked, fees and the tax mode in the JSON, figures exactly as reported."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from channelhub.cli import app
from doubles.woocommerce.orders import make_order

FIXTURES = Path(__file__).parent.parent / "fixtures"


def inspect(*args: str) -> tuple[int, list[dict], str]:
    result = CliRunner().invoke(app, ["inspect", *args])
    stdout = result.stdout
    return result.exit_code, json.loads(stdout[: stdout.rindex("]") + 1]), result.stderr


def test_a_woocommerce_order_with_a_product_without_a_sku_and_a_fee(tmp_path: Path) -> None:
    order = make_order(
        41,
        lines=[{"sku": "MUG", "product_id": 1, "price": "12.00"}, {"sku": "", "product_id": 5, "name": "Mystery box"}],
        fees=True,
        prices_include_tax=True,
        payment_method="cod",
        paid=False,
        customer_note="ring twice",
    )
    path = tmp_path / "order.json"
    path.write_text(json.dumps(order))
    code, (mapped,), stderr = inspect("woocommerce", str(path))
    assert code == 0, stderr
    assert [line["sku"] for line in mapped["lines"]] == ["MUG", None]
    assert mapped["fees"][0]["title"] == "Gift wrap" and mapped["taxes_included"] is True
    assert (mapped["financial_status"], mapped["payment_method"]) == ("pending", "cod")
    assert mapped["customer_note"] == "ring twice" and mapped["warnings"] == []
    assert "held: order 41: line 2 'Mystery box' has no SKU" in stderr
    assert "1 order(s) mapped, 0 refused" in stderr


def test_a_flat_file_keeps_its_figures_and_marks_the_row_without_a_sku() -> None:
    code, orders, stderr = inspect(
        "marketplace", str(FIXTURES / "marketplace" / "amazon_new_orders_figures.tsv"), "--layout",
        "amazon_unshipped_orders",
    )  # fmt: skip
    assert code == 0, stderr
    first = orders[0]
    cable = first["lines"][0]
    assert (cable["subtotal"]["shop"]["amount"], cable["quantity"]) == ("1.29", 2)  # kept beside 0.645 a unit
    assert first["lines"][1]["taxes"][0]["amount"]["shop"]["amount"] == "38.115"
    assert cable["taxes"][0]["amount"]["shop"]["amount"] == "0.00"  # a reported zero stays as reported
    assert first["customer"]["phone"] and first["paid_at"]
    unmapped = [o for o in orders if any(line["sku"] is None for line in o["lines"])]
    assert unmapped and "has no SKU" in stderr and "'Handmade bowl'" in stderr
