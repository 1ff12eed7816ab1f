"""Liveness and database check for load balancers and monitors."""

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from andon.api.deps import get_db
from andon.api.lanes import FloorRoute
from andon.api.problems import PROBLEM_JSON, Problem
from andon.core.database import Database

router = APIRouter(tags=["health"], route_class=FloorRoute)


class Health(BaseModel):
    status: str
    database: str


@router.get(
    "/healthz",
    response_model=Health,
    responses={503: {"model": Problem, "content": {PROBLEM_JSON: {}}}},
)
def healthz(db: Annotated[Database, Depends(get_db)]) -> Health | JSONResponse:
    """Answers 200 when the database answers a query, 503 otherwise."""
    try:
        # begin(): ends in COMMIT, which (unlike ROLLBACK) keeps the connection's prepared
        # statements; see ReadSession.
        with db.engine.begin() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        return JSONResponse(
            {
                "type": "about:blank",
                "title": "Database unavailable",
                "status": 503,
                "detail": str(exc).splitlines()[0][:200],
            },
            status_code=503,
            media_type=PROBLEM_JSON,
        )
    return Health(status="ok", database=db.engine.dialect.name)
