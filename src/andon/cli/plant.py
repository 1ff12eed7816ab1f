"""`andon plant`: the enterprise → site → area → line hierarchy."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from andon.cli.context import operator_context
from andon.cli.tables import echo_json

if TYPE_CHECKING:
    from collections.abc import Callable

    from andon.core.schemas import VersionedUpdate
    from andon.plant.service import PlantTree

app = typer.Typer(
    help="Show and change the plant hierarchy: enterprise → site → area → line.",
    no_args_is_help=True,
)

Level = Literal["enterprise", "site", "area", "line"]
NameOption = Annotated[str, typer.Option("--name", help="Name people will see.")]
CodeOption = Annotated[
    str, typer.Option("--code", help="Short code: letters, digits, '-' or '_' (stored upper-case).")
]
DescriptionOption = Annotated[str, typer.Option("--description", help="Free text.")]
LevelArgument = Annotated[
    Level, typer.Argument(metavar="LEVEL", help="enterprise, site, area or line.")
]
IdArgument = Annotated[int, typer.Argument(metavar="ID", help="Its id, from `andon plant tree`.")]
VersionOption = Annotated[
    int,
    typer.Option(
        "--version",
        metavar="N",
        help="The version your change is based on (shown as vN by `andon plant tree`).",
    ),
]
ReasonOption = Annotated[str | None, typer.Option("--reason", help="Why; kept in the audit trail.")]


@app.command()
def tree(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a tree.")] = False,
) -> None:
    """Show the whole hierarchy with ids (for `delete`) and codes (for the other commands)."""
    from andon.plant import service as plant

    with operator_context() as ctx:
        found = plant.plant_tree(ctx)
    if as_json:
        echo_json(_tree_json(found))
        return
    if not found.enterprises:
        typer.echo("No plant yet. Start with: andon plant add-enterprise NAME (or andon demo load)")
        return
    for line in _tree_lines(found):
        typer.echo(line)


@app.command("add-enterprise")
def add_enterprise(
    name: Annotated[
        str, typer.Argument(metavar="NAME", help="Company name, e.g. 'Acme Manufacturing'.")
    ],
    description: DescriptionOption = "",
) -> None:
    """Add an enterprise: the company at the top of the hierarchy."""
    from andon.plant import service as plant
    from andon.plant.schemas import EnterpriseCreate

    with operator_context() as ctx:
        created = plant.create_enterprise(ctx, EnterpriseCreate(name=name, description=description))
    typer.echo(f"Created enterprise {created.id}: {created.name}")


@app.command("add-site")
def add_site(
    enterprise: Annotated[
        str, typer.Option("--enterprise", metavar="NAME", help="Name of the enterprise.")
    ],
    name: NameOption,
    code: CodeOption,
    timezone: Annotated[
        str,
        typer.Option("--timezone", metavar="ZONE", help="IANA time zone, e.g. America/Chicago."),
    ],
    description: DescriptionOption = "",
) -> None:
    """Add a site (a plant) to an enterprise."""
    from andon.plant import service as plant
    from andon.plant.schemas import SiteCreate

    with operator_context() as ctx:
        parent = plant.find_enterprise_by_name(ctx, enterprise)
        data = SiteCreate(
            enterprise_id=parent.id,
            name=name,
            code=code,
            timezone=timezone,
            description=description,
        )
        created = plant.create_site(ctx, data)
    typer.echo(f"Created site {created.id}: {created.name} ({created.code}, {created.timezone})")


@app.command("add-area")
def add_area(
    site: Annotated[str, typer.Option("--site", metavar="CODE", help="Code of the site.")],
    name: NameOption,
    code: CodeOption,
    description: DescriptionOption = "",
) -> None:
    """Add an area (a department or hall) to a site."""
    from andon.plant import service as plant
    from andon.plant.schemas import AreaCreate

    with operator_context() as ctx:
        parent = plant.find_site_by_code(ctx, site)
        data = AreaCreate(site_id=parent.id, name=name, code=code, description=description)
        created = plant.create_area(ctx, data)
    typer.echo(f"Created area {created.id}: {created.name} ({parent.code}/{created.code})")


@app.command("add-line")
def add_line(
    site: Annotated[str, typer.Option("--site", metavar="CODE", help="Code of the site.")],
    area: Annotated[str, typer.Option("--area", metavar="CODE", help="Code of the area.")],
    name: NameOption,
    code: CodeOption,
    kind: Annotated[
        Literal["line", "work_centre"],
        typer.Option(help="An assembly line, or a single work centre."),
    ] = "line",
    description: DescriptionOption = "",
) -> None:
    """Add a line or a work centre to an area."""
    from andon.plant import service as plant
    from andon.plant.models import LineKind
    from andon.plant.schemas import LineCreate

    with operator_context() as ctx:
        parent = plant.find_area_by_code(ctx, site, area)
        data = LineCreate(
            area_id=parent.id,
            name=name,
            code=code,
            kind=LineKind(kind),
            description=description,
        )
        created = plant.create_line(ctx, data)
    label = "work centre" if created.kind == LineKind.WORK_CENTRE else "line"
    typer.echo(f"Created {label} {created.id}: {created.name} ({created.code})")


@app.command()
def delete(
    level: LevelArgument,
    node_id: IdArgument,
    version: VersionOption,
    reason: ReasonOption = None,
) -> None:
    """Delete an enterprise, site, area or line. Anything with children is refused."""
    from andon.plant import service as plant

    remove = {
        "enterprise": plant.delete_enterprise,
        "site": plant.delete_site,
        "area": plant.delete_area,
        "line": plant.delete_line,
    }[level]
    with operator_context() as ctx:
        remove(ctx, node_id, version, reason)
    typer.echo(f"Deleted {level} {node_id}.")


@app.command()
def update(
    level: LevelArgument,
    node_id: IdArgument,
    version: VersionOption,
    name: Annotated[str | None, typer.Option("--name", help="New name.")] = None,
    code: Annotated[str | None, typer.Option("--code", help="New code (not enterprises).")] = None,
    timezone: Annotated[
        str | None, typer.Option("--timezone", help="New IANA time zone (sites only).")
    ] = None,
    kind: Annotated[
        str | None, typer.Option("--kind", help="line or work_centre (lines only).")
    ] = None,
    description: Annotated[str | None, typer.Option("--description", help="New text.")] = None,
    reason: ReasonOption = None,
) -> None:
    """Change an enterprise, site, area or line; only the options given change."""
    from andon.plant import schemas
    from andon.plant import service as plant

    choices: dict[str, tuple[type[VersionedUpdate], Callable[..., Any]]] = {
        "enterprise": (schemas.EnterpriseUpdate, plant.update_enterprise),
        "site": (schemas.SiteUpdate, plant.update_site),
        "area": (schemas.AreaUpdate, plant.update_area),
        "line": (schemas.LineUpdate, plant.update_line),
    }
    schema, change = choices[level]
    given = {
        "name": name,
        "code": code,
        "timezone": timezone,
        "kind": kind,
        "description": description,
    }
    # Unknown options for this level reach the schema and are refused by name there.
    fields = {key: value for key, value in given.items() if value is not None}
    data = schema(version=version, reason=reason, **fields)
    with operator_context() as ctx:
        node = change(ctx, node_id, data)
    typer.echo(f"Updated {level} {node_id} (now v{node.version}).")


def _tree_lines(found: PlantTree) -> list[str]:
    """Box-drawn tree: every node with its code, id and version."""
    out: list[str] = []

    def add(prefix: str, last: bool, text: str) -> str:
        out.append(f"{prefix}{'└── ' if last else '├── '}{text}")
        return prefix + ("    " if last else "│   ")

    for enterprise in found.enterprises:
        out.append(f"{enterprise.name}  [enterprise {enterprise.id} v{enterprise.version}]")
        sites = found.sites.get(enterprise.id, [])
        for i, site in enumerate(sites):
            site_prefix = add(
                "",
                i == len(sites) - 1,
                f"{site.name} ({site.code}, {site.timezone})  [site {site.id} v{site.version}]",
            )
            areas = found.areas.get(site.id, [])
            for j, area in enumerate(areas):
                area_prefix = add(
                    site_prefix,
                    j == len(areas) - 1,
                    f"{area.name} ({area.code})  [area {area.id} v{area.version}]",
                )
                lines = found.lines.get(area.id, [])
                for k, node in enumerate(lines):
                    kind = "work centre" if node.kind == "work_centre" else "line"
                    add(
                        area_prefix,
                        k == len(lines) - 1,
                        f"{node.name} ({node.code})  [{kind} {node.id} v{node.version}]",
                    )
    return out


def _tree_json(found: PlantTree) -> list[dict[str, Any]]:
    from andon.plant.schemas import AreaOut, EnterpriseOut, LineOut, SiteOut

    def dump(model: Any, node: Any, **children: Any) -> dict[str, Any]:
        data: dict[str, Any] = model.model_validate(node).model_dump(mode="json")
        return data | children

    return [
        dump(
            EnterpriseOut,
            e,
            sites=[
                dump(
                    SiteOut,
                    s,
                    areas=[
                        dump(
                            AreaOut,
                            a,
                            lines=[dump(LineOut, ln) for ln in found.lines.get(a.id, [])],
                        )
                        for a in found.areas.get(s.id, [])
                    ],
                )
                for s in found.sites.get(e.id, [])
            ],
        )
        for e in found.enterprises
    ]
