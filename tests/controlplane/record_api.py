"""The checks every name-addressed record API shares (``controlplane.core.api.NamedRecordViewSet``).

A test module of one such API inherits them::

    class TestStreamsAPI(RecordAPIChecks):
        collection = "/api/streams/"
        record = Stream
        ...

        @pytest.fixture
        def payload(self) -> dict: ...     # a valid create body

        @pytest.fixture
        def make(self) -> Callable: ...    # make(name, **fields) -> a row, made without the API

and keeps beside the class the tests of what only that record has (its fields, its filters, its admin).
A check that does not apply to a record is switched off by name, with the reason:
``test_names_with_dots_are_addressable = None  # policy names are slugs``.

``tests/controlplane/conftest.py`` has pytest rewrite this module's asserts, so a failed check shows its values.
"""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from tests.controlplane.records import error, field_errors, names, write_statuses

# Three ways a JSON body can break off; each is a 400 with code ``parse_error``.
MALFORMED_JSON = ('{"name": "street",', "[{", "{")


class RecordAPIChecks:
    pytestmark = [pytest.mark.django_db]

    collection: ClassVar[str]  # "/api/<records>/"
    record: ClassVar[type]  # the Django model
    required: ClassVar[set[str]]  # the fields a create names as missing in an empty body
    update: ClassVar[dict[str, Any]]  # a partial update that changes a row made by ``make``
    bad_fields: ClassVar[list[tuple[dict[str, Any], str]]]  # (a change to ``payload``, the field named in the 400)
    read_only_defaults: ClassVar[dict[str, Any]] = {}  # read-only fields and what a new row has in them

    @pytest.fixture
    def payload(self) -> dict:
        raise NotImplementedError("a valid create body, as a fixture")

    @pytest.fixture
    def make(self):
        raise NotImplementedError("make(name, **fields) -> a row made without the API, as a fixture")

    def pytest_generate_tests(self, metafunc):
        if "change" in metafunc.fixturenames and "field" in metafunc.fixturenames:
            metafunc.parametrize("change, field", self.bad_fields)

    def item(self, name: str) -> str:
        return f"{self.collection}{name}/"

    def test_create_read_update_delete_by_name(self, api, payload):
        created = api.post(self.collection, payload, format="json")
        assert created.status_code == 201, created.content
        name = created.json()["name"]
        assert name == payload["name"]
        assert api.get(self.item(name)).json() == created.json()
        assert names(api.get(self.collection)) == [name]

        patched = api.patch(self.item(name), self.update, format="json")
        assert patched.status_code == 200, patched.content
        assert {k: patched.json()[k] for k in self.update} == self.update
        assert api.get(self.item(name)).json() == patched.json()

        assert api.delete(self.item(name)).status_code == 204
        assert error(api.get(self.item(name)), 404)["code"] == "not_found"  # in the error shape
        assert not self.record.objects.exists()

    def test_names_with_dots_are_addressable(self, api, make):
        make("lobby.cam-1")
        assert api.get(self.item("lobby.cam-1")).json()["name"] == "lobby.cam-1"
        assert api.patch(self.item("lobby.cam-1"), self.update, format="json").status_code == 200
        assert api.delete(self.item("lobby.cam-1")).status_code == 204
        assert not self.record.objects.exists()

    def test_status_and_timestamps_are_read_only_and_unknown_fields_ignored(self, api, payload):
        written = {  # what a client might try to set, none of it what a new row has
            field: "ready" if field == "status" else "written by a client" if isinstance(default, str) else 9
            for field, default in self.read_only_defaults.items()
        }
        response = api.post(
            self.collection,
            {**payload, **written, "created": "2000-01-01T00:00:00Z", "updated": "2000-01-01T00:00:00Z", "colour": "red"},
            format="json",
        )
        assert response.status_code == 201, response.content
        body = response.json()
        assert {field: body[field] for field in self.read_only_defaults} == self.read_only_defaults
        assert not body["created"].startswith("2000") and not body["updated"].startswith("2000")
        assert "colour" not in body

    def test_bad_fields_are_named_in_a_400(self, api, payload, change, field):
        assert field in field_errors(api.post(self.collection, {**payload, **change}, format="json"))
        assert not self.record.objects.exists()

    def test_missing_fields_and_duplicate_names_are_named(self, api, payload, make):
        assert set(field_errors(api.post(self.collection, {}, format="json"))) >= self.required
        make(payload["name"])
        assert "name" in field_errors(api.post(self.collection, payload, format="json"))
        assert self.record.objects.count() == 1

    def test_a_list_or_malformed_json_is_a_400(self, api, payload):
        assert "non_field_errors" in field_errors(api.post(self.collection, [payload], format="json"))
        for body in MALFORMED_JSON:
            malformed = api.post(self.collection, data=body, content_type="application/json")
            assert error(malformed, 400)["code"] == "parse_error", body
        assert not self.record.objects.exists()

    def test_viewer_reads_but_may_not_write(self, viewer_api, payload, make):
        name = make(payload["name"]).name
        assert names(viewer_api.get(self.collection)) == [name]
        before = viewer_api.get(self.item(name))
        assert before.status_code == 200
        assert write_statuses(viewer_api, self.collection, self.item(name), {**payload, **self.update}) == {403}
        assert viewer_api.get(self.item(name)).json() == before.json()  # the row is as it was
        assert self.record.objects.count() == 1

    def test_anonymous_reads_only_when_anonymous_read_is_on(self, anonymous_api, settings, payload, make):
        name = make(payload["name"]).name
        assert anonymous_api.get(self.collection).status_code in (401, 403)
        assert anonymous_api.get(self.item(name)).status_code in (401, 403)
        settings.EI_ANONYMOUS_READ = True
        assert names(anonymous_api.get(self.collection)) == [name]
        before = anonymous_api.get(self.item(name))
        assert before.status_code == 200
        assert before.json() == anonymous_api.get(self.collection).json()["results"][0]  # the whole row, by name
        assert write_statuses(anonymous_api, self.collection, self.item(name), {**payload, **self.update}) <= {401, 403}
        assert anonymous_api.get(self.item(name)).json() == before.json()  # the row is as it was
        assert self.record.objects.count() == 1

    def test_search_and_ordering(self, api, make):
        for name in ("b-door", "a-gate", "c-yard"):
            make(name)
        assert names(api.get(self.collection)) == ["a-gate", "b-door", "c-yard"]
        assert names(api.get(self.collection, {"search": "gat"})) == ["a-gate"]
        assert names(api.get(self.collection, {"ordering": "-name"})) == ["c-yard", "b-door", "a-gate"]
        assert names(api.get(self.collection, {"ordering": "created"})) == ["b-door", "a-gate", "c-yard"]
        assert names(api.get(self.collection, {"ordering": "-created"})) == ["c-yard", "a-gate", "b-door"]

    def test_pagination(self, api, make):
        for i in range(5):
            make(f"s{i}")
        first = api.get(self.collection, {"page_size": 2}).json()
        assert (first["count"], [row["name"] for row in first["results"]]) == (5, ["s0", "s1"])
        second = api.get(first["next"]).json()  # the link a client follows
        assert [row["name"] for row in second["results"]] == ["s2", "s3"]
        last = api.get(self.collection, {"page_size": 2, "page": 3}).json()
        assert (last["count"], [row["name"] for row in last["results"]], last["next"]) == (5, ["s4"], None)
        assert names(api.get(self.collection, {"ordering": "-name", "page_size": 2})) == ["s4", "s3"]
        error(api.get(self.collection, {"page": 9}), 404)
