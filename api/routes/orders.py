"""/v1/products, /v1/purchases, /v1/sales, /v1/buybacks: HQ's stock and sales."""

from __future__ import annotations

from fastapi.responses import JSONResponse

from api import views
from api.commands import command_options, run
from api.deps import (
    Cursor,
    HQReader,
    IdempotencyKey,
    Limit,
    MinPosition,
    Operator,
    ServicesDep,
    decode_cursor,
    fresh,
    page_of,
)
from api.errors import problems
from api.routes import resource
from api.schemas.common import Id, Page, PathId, Period, cny
from api.schemas.orders import (
    BuybackCreate,
    ProductCreate,
    ProductPublic,
    PurchaseCreate,
    ReturnCreate,
    SaleCreate,
    SalePublic,
    SaleSummary,
)
from domain.events import Codec, streams
from eventstore import reads

router = resource("/v1", "stock and sales")
SaleId = PathId
COMMAND = command_options(401, 403, 409, 422)
READ = problems(401, 403, 404, 422, 503)
_codec = Codec()


@router.post("/products", summary="product: list a product or change its price", **COMMAND)
async def product(body: ProductCreate, who: Operator, services: ServicesDep,
                  key: IdempotencyKey = None) -> JSONResponse:
    return await run(services, who, "product", body.model_dump(mode="json"), key)


@router.post("/purchases", summary="purchase: an agent buys stock from HQ or its sponsor",
             **COMMAND)
async def purchase(body: PurchaseCreate, who: Operator, services: ServicesDep,
                   key: IdempotencyKey = None) -> JSONResponse:
    fields = body.model_dump(mode="json", exclude_none=True)
    fields["seller"] = body.seller
    return await run(services, who, "purchase", fields, key)


@router.post("/sales", summary="sale: a retail sale to an end customer", **COMMAND)
async def sale(body: SaleCreate, who: Operator, services: ServicesDep,
               key: IdempotencyKey = None) -> JSONResponse:
    return await run(services, who, "sale", body.model_dump(mode="json"), key)


@router.post("/sales/{sale}/returns", summary="return: units of a sale come back", **COMMAND)
async def return_sale(sale: SaleId, body: ReturnCreate, who: Operator, services: ServicesDep,
                      key: IdempotencyKey = None) -> JSONResponse:
    return await run(services, who, "return", {**body.model_dump(mode="json"), "sale": sale},
                     key)


@router.post("/buybacks", summary="buyback: HQ buys back an agent's unsold units", **COMMAND)
async def buyback(body: BuybackCreate, who: Operator, services: ServicesDep,
                  key: IdempotencyKey = None) -> JSONResponse:
    return await run(services, who, "buyback", body.model_dump(mode="json"), key)


@router.get("/products", response_model=Page[ProductPublic], responses=READ,
            summary="products and their suggested retail prices")
async def products(who: HQReader, services: ServicesDep, limit: Limit = 50,
                   cursor: Cursor = None) -> Page[ProductPublic]:
    after = decode_cursor(cursor, 1)
    listed = await reads.streams_with(services.pool, services.tenant, "ProductListed",
                                      after=streams.product(after[0]) if after else "",
                                      limit=limit + 1)
    items = []
    for stream in listed:
        found = await services.ledger.orders.product(services.tenant,
                                                     stream.removeprefix(streams.product("")))
        if found is not None:  # never None: the stream holds its ProductListed
            items.append(ProductPublic(sku=found.sku, name=found.name,
                                       retail_price=cny(found.retail_price)))
    return page_of(items, limit, lambda item: (item.sku,))


@router.get("/sales", response_model=Page[SaleSummary], responses=READ,
            summary="retail sales by id, optionally of one seller or period")
async def list_sales(who: HQReader, services: ServicesDep, seller: Id | None = None,
                     period: Period | None = None, limit: Limit = 50, cursor: Cursor = None,
                     min_position: MinPosition = None) -> Page[SaleSummary]:
    await fresh(services, "sales", min_position)
    after = decode_cursor(cursor, 1)
    found = await views.sales(services, seller=seller, period=period,
                              after=str(after[0]) if after else "", limit=limit + 1)
    return page_of(found, limit, lambda item: (item.sale,))


@router.get("/sales/{sale}", response_model=SalePublic, responses=READ, summary="one sale")
async def get_sale(sale: SaleId, who: HQReader, services: ServicesDep,
                   min_position: MinPosition = None) -> SalePublic:
    await fresh(services, "sales", min_position)
    return await views.sale(services, sale)
