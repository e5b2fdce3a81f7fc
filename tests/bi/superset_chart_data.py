"""Run by Superset's own python (tests/bi/superset_instance.py): logs in as a user and asks Superset's web API for
every chart of a dashboard, then prints {slice name: {"viz_type", "data": rows}} as one JSON line.

A chart saved with a query context is asked through the chart data API, which runs that query; one without (a
legacy chart type, such as the country map) through `explore_json` with its saved parameters, as a
dashboard asks for it.

    python superset_chart_data.py /superset/dashboard/SLUG/ USER PASSWORD
"""

import json
import sys

from superset.app import create_app


def main(dashboard_path: str, username: str, password: str) -> None:
    client = create_app().test_client()
    login = client.post("/login/", data={"username": username, "password": password})
    assert login.status_code in (200, 302), login.text

    slug = dashboard_path.rstrip("/").rsplit("/", 1)[-1]
    dashboard = client.get(f"/api/v1/dashboard/{slug}/charts")
    assert dashboard.status_code == 200, dashboard.text
    charts = {}
    for chart in dashboard.json["result"]:
        saved = client.get(f"/api/v1/chart/{chart['id']}")
        assert saved.status_code == 200, saved.text
        if saved.json["result"]["query_context"]:
            response = client.get(f"/api/v1/chart/{chart['id']}/data/")
            assert response.status_code == 200, (chart["slice_name"], response.text)
            (result,) = response.json["result"]
            rows = result["data"]
        else:
            form_data = json.dumps({"slice_id": chart["id"]})
            response = client.get("/superset/explore_json/", query_string={"form_data": form_data})
            assert response.status_code == 200, (chart["slice_name"], response.text)
            rows = response.json["data"]
        charts[chart["slice_name"]] = {"viz_type": chart["form_data"]["viz_type"], "data": rows}
    print(json.dumps(charts))


if __name__ == "__main__":
    main(*sys.argv[1:])
