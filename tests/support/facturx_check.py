#!/usr/bin/env python3
"""Checks e-invoices the way a receiver would, independently of leadline.

For each PDF named on the command line (with the XML leadline wrote beside
it, same name with .xml): the factur-x package validates the embedded XML
against the official Factur-X/ZUGFeRD XSD (profile EN 16931) and reads it
back out of the PDF; pypdf reads the PDF/A-3 and Factur-X markers in the
XMP and the embedded file's relationship; then the EN 16931 calculation
rules are recomputed from the XML's own lines and allowances. Prints one
JSON object per file with the totals the XML states; exits 1 on the first
failure, saying which file and why.
"""
import json
import re
import sys
from decimal import Decimal, ROUND_HALF_UP

import pypdf
from facturx import get_facturx_xml_from_pdf, get_flavor, get_level, xml_check_xsd
from lxml import etree

NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
}


def fail(path, why):
    print(f"{path}: {why}", file=sys.stderr)
    sys.exit(1)


def dec(node, path):
    found = node.xpath(path, namespaces=NS)
    return Decimal(found[0].text) if found else Decimal(0)


def cents(x):
    return x.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def check(pdf_path):
    xml_path = re.sub(r"\.pdf$", ".xml", pdf_path)
    written = open(xml_path, "rb").read()
    try:
        xml_check_xsd(written, flavor="factur-x", level="en16931")
    except Exception as e:  # the package raises plain exceptions
        fail(xml_path, f"not valid against the Factur-X EN 16931 schema: {e}")
    with open(pdf_path, "rb") as f:
        name, embedded = get_facturx_xml_from_pdf(f, check_xsd=True)
    if name != "factur-x.xml" or embedded != written:
        fail(pdf_path, f"the embedded file is {name!r}, not the XML written beside it")
    tree = etree.fromstring(embedded)
    if get_flavor(tree) != "factur-x" or get_level(tree) != "en16931":
        fail(pdf_path, "the XML does not say Factur-X EN 16931")

    reader = pypdf.PdfReader(pdf_path)
    root = reader.trailer["/Root"]
    xmp = root["/Metadata"].get_object().get_data().decode()
    for marker in [
        r'pdfaid:part(>|=")3',
        r"<fx:ConformanceLevel>EN 16931</fx:ConformanceLevel>",
        r"<fx:DocumentFileName>factur-x.xml</fx:DocumentFileName>",
        r"<fx:DocumentType>INVOICE</fx:DocumentType>",
        r"pdfaExtension:schemas",
    ]:
        if not re.search(marker, xmp):
            fail(pdf_path, f"the XMP lacks {marker}")
    spec = root["/Names"]["/EmbeddedFiles"]["/Names"][1].get_object()
    if spec.get("/AFRelationship") != "/Alternative":
        fail(pdf_path, f"AFRelationship is {spec.get('/AFRelationship')}")
    if spec not in [a.get_object() for a in root["/AF"]]:
        fail(pdf_path, "the catalog's /AF does not name the XML")

    # EN 16931 calculation rules, from the XML alone.
    settle = tree.xpath("//ram:ApplicableHeaderTradeSettlement", namespaces=NS)[0]
    total = settle.xpath("ram:SpecifiedTradeSettlementHeaderMonetarySummation", namespaces=NS)[0]
    t = {k: dec(total, f"ram:{k}") for k in [
        "LineTotalAmount", "ChargeTotalAmount", "AllowanceTotalAmount", "TaxBasisTotalAmount",
        "TaxTotalAmount", "GrandTotalAmount", "TotalPrepaidAmount", "DuePayableAmount"]}
    lines = tree.xpath("//ram:IncludedSupplyChainTradeLineItem", namespaces=NS)
    by_rate = {}
    line_sum = Decimal(0)
    for l in lines:
        qty = dec(l, ".//ram:BilledQuantity")
        price = dec(l, ".//ram:NetPriceProductTradePrice/ram:ChargeAmount")
        allowance = sum((dec(a, "ram:ActualAmount") for a in l.xpath(
            ".//ram:SpecifiedLineTradeSettlement/ram:SpecifiedTradeAllowanceCharge", namespaces=NS)), Decimal(0))
        net = dec(l, ".//ram:LineTotalAmount")
        if net != cents(qty * price) - allowance:  # BR-LIN-04 (rounded per line)
            fail(xml_path, f"line net {net} is not {qty} x {price} - {allowance}")
        rate = dec(l, ".//ram:ApplicableTradeTax/ram:RateApplicablePercent")
        by_rate[rate] = by_rate.get(rate, Decimal(0)) + net
        line_sum += net
    if line_sum != t["LineTotalAmount"]:  # BR-CO-10
        fail(xml_path, f"lines add up to {line_sum}, not {t['LineTotalAmount']}")
    docs = settle.xpath("ram:SpecifiedTradeAllowanceCharge", namespaces=NS)
    allowances = charges = Decimal(0)
    for a in docs:
        amount = dec(a, "ram:ActualAmount")
        rate = dec(a, "ram:CategoryTradeTax/ram:RateApplicablePercent")
        if a.xpath("ram:ChargeIndicator/udt:Indicator", namespaces=NS)[0].text == "true":
            charges += amount
            by_rate[rate] = by_rate.get(rate, Decimal(0)) + amount
        else:
            allowances += amount
            by_rate[rate] = by_rate.get(rate, Decimal(0)) - amount
    if allowances != t["AllowanceTotalAmount"] or charges != t["ChargeTotalAmount"]:  # BR-CO-11/12
        fail(xml_path, "document allowances or charges do not add up")
    basis = t["LineTotalAmount"] - t["AllowanceTotalAmount"] + t["ChargeTotalAmount"]
    if basis != t["TaxBasisTotalAmount"]:  # BR-CO-13
        fail(xml_path, f"tax basis {t['TaxBasisTotalAmount']} is not {basis}")
    tax_sum = Decimal(0)
    for tax in settle.xpath("ram:ApplicableTradeTax", namespaces=NS):
        rate = dec(tax, "ram:RateApplicablePercent")
        b = dec(tax, "ram:BasisAmount")
        amount = dec(tax, "ram:CalculatedAmount")
        if b != by_rate.pop(rate, None):  # BR-S-08 and friends
            fail(xml_path, f"the basis at {rate}% is {b}, its lines and shares say otherwise")
        if amount != cents(b * rate / 100):  # BR-S-09
            fail(xml_path, f"the tax at {rate}% is {amount}, not {b} x {rate}%")
        tax_sum += amount
    if any(v != 0 for v in by_rate.values()):
        fail(xml_path, f"rates without a tax breakdown: {by_rate}")
    if tax_sum != t["TaxTotalAmount"]:  # BR-CO-14
        fail(xml_path, f"taxes add up to {tax_sum}, not {t['TaxTotalAmount']}")
    if t["GrandTotalAmount"] != basis + tax_sum:  # BR-CO-15
        fail(xml_path, "the grand total is not basis + tax")
    if t["DuePayableAmount"] != t["GrandTotalAmount"] - t["TotalPrepaidAmount"]:  # BR-CO-16
        fail(xml_path, "the amount due is not grand total - prepaid")
    type_code = tree.xpath("//rsm:ExchangedDocument/ram:TypeCode", namespaces=NS)[0].text
    return {
        "file": pdf_path,
        "type": type_code,
        "pages": len(reader.pages),
        **{k: str(v) for k, v in t.items()},
    }


for path in sys.argv[1:]:
    print(json.dumps(check(path)))
