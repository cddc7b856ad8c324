"""Line and document amounts in integer halalas, rounded the way ZATCA's rules (EN 16931 + BR-KSA) check them.

- line net (BT-131) = quantity × unit price (BR-KSA-EN16931-11; exact in halalas, no rounding needed);
- line VAT (KSA-11) = line net × rate, rounded half up to the halala (BR-KSA-50); line with VAT (KSA-12) =
  net + VAT (BR-KSA-51);
- per VAT category and rate: taxable amount (BT-116) = Σ line nets (BR-S-08, BR-Z-08, BR-E-08) and tax amount
  (BT-117) = taxable × rate, rounded half up (BR-S-09, BR-CO-17) — rounded once per category, not summed from the
  rounded lines (the two may differ by a halala; ZATCA checks the category one);
- LineExtensionAmount (BT-106) = Σ line nets (BR-CO-10); TaxExclusiveAmount (BT-109) = BT-106 (no document
  allowances or charges); TaxAmount (BT-110) = Σ category tax amounts (BR-CO-14); TaxInclusiveAmount (BT-112) =
  BT-109 + BT-110 (BR-CO-15); PayableAmount (BT-115) = BT-112 (nothing prepaid, no rounding amount; BR-CO-16).

Rounding half up on non-negative integers is exact: ``(n × p + 50) // 100``. No floats anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

from atlas.einvoicing.documents import VAT_PERCENT, DocumentError, Line, VatCategory


def vat_of(net: int, percent: int) -> int:
    """``net × percent / 100`` rounded half up to the halala."""
    if net < 0 or percent < 0:
        raise DocumentError("VAT is computed on non-negative amounts")
    return (net * percent + 50) // 100


def sar(halalas: int) -> str:
    """Halalas as the XML's two-decimal SAR amount (``1234.50``)."""
    if halalas < 0:
        raise DocumentError("amounts in a ZATCA document are never negative")
    return f"{halalas // 100}.{halalas % 100:02d}"


@dataclass(frozen=True, slots=True)
class LineAmounts:
    net: int
    vat: int
    percent: int

    @property
    def gross(self) -> int:
        return self.net + self.vat


@dataclass(frozen=True, slots=True)
class TaxSubtotal:
    """One ``cac:TaxSubtotal``: a VAT category at one rate (and, for Z/E, one exemption reason)."""

    category: VatCategory
    percent: int
    taxable: int
    tax: int
    exemption_code: str | None
    exemption_reason: str | None


@dataclass(frozen=True, slots=True)
class Totals:
    lines: tuple[LineAmounts, ...]
    subtotals: tuple[TaxSubtotal, ...]
    line_extension: int
    tax_exclusive: int
    tax: int
    tax_inclusive: int
    payable: int


def line_amounts(line: Line) -> LineAmounts:
    percent = VAT_PERCENT[line.category]
    net = line.quantity * line.unit_price
    return LineAmounts(net=net, vat=vat_of(net, percent), percent=percent)


def totals(lines: tuple[Line, ...] | list[Line]) -> Totals:
    """Every amount the XML states, from the lines alone."""
    if not lines:
        raise DocumentError("a document needs at least one line (BR-16)")
    amounts = tuple(line_amounts(line) for line in lines)
    groups: dict[tuple[VatCategory, int, str | None, str | None], int] = {}
    for line, amount in zip(lines, amounts, strict=True):
        key = (line.category, amount.percent, line.exemption_code, line.exemption_reason)
        groups[key] = groups.get(key, 0) + amount.net
    subtotals = tuple(
        TaxSubtotal(category, percent, taxable, vat_of(taxable, percent), code, reason)
        for (category, percent, code, reason), taxable in groups.items()
    )
    line_extension = sum(amount.net for amount in amounts)
    tax = sum(subtotal.tax for subtotal in subtotals)
    return Totals(
        lines=amounts,
        subtotals=subtotals,
        line_extension=line_extension,
        tax_exclusive=line_extension,
        tax=tax,
        tax_inclusive=line_extension + tax,
        payable=line_extension + tax,
    )
