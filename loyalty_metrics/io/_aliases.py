"""The usual spellings of each canonical column in the exports people actually have.

Shop platforms (Shopify, WooCommerce, Magento), ERPs and POS systems, and the common open data
sets (the UCI Online Retail columns ``InvoiceNo, StockCode, Description, Quantity, InvoiceDate,
UnitPrice, CustomerID, Country``; Olist; the Instacart and CDNOW files) name the same columns a
dozen ways. A header is compared by its *squashed* form: lower case, letters and digits only
(``Customer ID``, ``customer-id`` and ``CustomerID`` are all ``customerid``). Spellings are
listed best first: when two headers of one file match a column, the earlier spelling wins.

Numbers are only ever matched to numeric columns by these names: a text column such as
``Country`` is never proposed for ``amount``.
"""

from __future__ import annotations

import re
from typing import Any

_CUSTOMER_ID = (
    "customerid", "customerno", "customernumber", "customernr", "customer", "customercode",
    "clientid", "clientno", "clientnumber", "client", "buyerid", "memberid", "accountid",
    "userid", "contactid", "shopperid", "kundennummer", "kundenid", "kundennr", "idcliente",
    "numeroclient",
)  # fmt: skip

#: table -> canonical column -> squashed spellings, best first.
ALIASES: dict[str, dict[str, tuple[str, ...]]] = {
    "orders": {
        "customer_id": _CUSTOMER_ID,
        "order_date": (
            "orderdate", "invoicedate", "transactiondate", "purchasedate", "saledate",
            "salesdate", "orderdatetime", "orderpurchasetimestamp", "createdat", "orderedat",
            "paidat", "documentdate", "postingdate", "date", "datum", "bestelldatum",
            "rechnungsdatum",
        ),
        "amount": (
            "netamount", "nettotal", "net", "netsales", "netrevenue", "linetotal", "lineamount",
            "linevalue", "total", "totalamount", "totalprice", "ordertotal", "subtotal",
            "salesamount", "sales", "revenue", "extendedprice", "betrag", "umsatz", "montant",
            "importe",
        ),
        "order_id": (
            "orderid", "ordernumber", "orderno", "ordernr", "order", "invoiceno",
            "invoicenumber", "invoiceid", "invoicenr", "invoice", "receiptno", "receiptnumber",
            "receiptid", "transactionid", "transactionno", "ticketid", "ticketnumber",
            "documentno", "documentnumber", "salesorder", "salesordernumber", "bestellnummer",
            "auftragsnummer", "rechnungsnummer", "belegnummer",
        ),
        "category": (
            "productcategory", "categoryname", "itemcategory", "productcategoryname",
            "producttype", "productline", "department", "warengruppe", "kategorie",
        ),
        "product_id": (
            "productid", "sku", "stockcode", "itemid", "itemcode", "productcode", "itemno",
            "itemnumber", "productno", "productnumber", "articleno", "articlenumber", "article",
            "artikelnummer", "artikelnr", "variantsku", "lineitemsku", "ean", "upc", "gtin",
            "partnumber", "materialnumber",
        ),
        "quantity": (
            "qty", "units", "quantityordered", "qtyordered", "orderedquantity", "lineitemquantity",
            "pieces", "menge", "anzahl", "quantite", "cantidad",
        ),
        "unit_price": (
            "price", "priceeach", "itemprice", "unitprice", "unitsellingprice", "sellingprice",
            "saleprice", "lineitemprice", "preis", "einzelpreis", "stueckpreis", "prixunitaire",
            "preciounitario",
        ),
        "cost": ("cogs", "costofgoods", "unitcost", "costprice", "einstandspreis"),
        "channel": ("saleschannel", "orderchannel", "vertriebskanal"),
        "cancels": ("cancelsorder", "cancelledorder", "originalorder", "originalinvoice",
                    "reference", "referenceorder", "returnof"),
    },
    "surveys": {
        "customer_id": _CUSTOMER_ID,
        "response_date": ("responsedate", "surveydate", "submittedat", "submitdate",
                          "createdat", "date", "timestamp"),
        "score": ("npsscore", "nps", "likelihoodtorecommend", "recommendscore",
                  "recommendationscore"),
        "csat": ("csatscore", "satisfaction", "satisfactionscore"),
        "comment": ("comments", "feedback", "verbatim", "remarks"),
    },
    "events": {
        "customer_id": _CUSTOMER_ID,
        "timestamp": ("eventtime", "eventtimestamp", "eventdate", "occurredat", "createdat",
                      "datetime", "time", "date"),
        "event_type": ("eventtype", "eventname", "event", "action", "activity", "type"),
        "duration": ("durationseconds", "durationsec", "sessionduration", "seconds",
                     "timeonpage"),
    },
    "spend": {
        "date": ("spenddate", "day", "month", "period"),
        "amount": ("spend", "cost", "adspend", "budget", "totalspend"),
        "channel": ("marketingchannel", "source"),
    },
    "customers": {
        "customer_id": _CUSTOMER_ID,
        "signup_date": ("signupdate", "registrationdate", "registeredat", "createdat",
                        "joined", "joindate", "firstseen"),
        "acquisition_channel": ("acquisitionchannel", "channel", "source", "utmsource"),
        "is_member": ("ismember", "member", "loyaltymember"),
        "member_since": ("membersince", "memberdate", "joinedprogram"),
        "tier": ("loyaltytier", "membertier", "level"),
        "referred_by": ("referredby", "referrer", "referrerid"),
    },
}  # fmt: skip


def squash(name: Any) -> str:
    """Lower case, letters and digits only: ``"Customer ID"`` -> ``"customerid"``.

    Examples
    --------
    >>> squash(" InvoiceNo "), squash("customer-id"), squash("Unit Price (EUR)")
    ('invoiceno', 'customerid', 'unitpriceeur')
    """
    return re.sub(r"[^0-9a-z]+", "", str(name).replace("\ufeff", "").lower())


def alias_rank(table: str, canonical: str, header: Any) -> int | None:
    """Position of ``header`` among ``canonical``'s spellings (0 = its own name), or None.

    Examples
    --------
    >>> alias_rank("orders", "order_id", "InvoiceNo"), alias_rank("orders", "amount", "Country")
    (6, None)
    """
    key = squash(header)
    if key == squash(canonical):
        return 0
    spellings = ALIASES.get(table, {}).get(canonical, ())
    return spellings.index(key) + 1 if key in spellings else None
