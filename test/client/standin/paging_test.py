#!/usr/bin/env python3
"""Listing with paging and coderd's search queries, and the deployment
config, as Coder's scale-test cleanup reads them (stdlib only).

usage: paging_test.py URL TOKEN

Coder's cleanup (cli/exp_scaletest.go, getScaletestWorkspaces) GETs
/deployment/config, then pages GET /workspaces 100 at a time with a
WorkspaceFilter{Name: "scaletest-", Template, Owner} until a page is empty;
the filter is q=owner:"X" name:"Z" template:"Y" (codersdk/workspaces.go,
asRequestOption: each value %q-quoted, the query URL-encoded by Go's
url.Values.Encode).  Users are paged with UsersRequest{Search: "scaletest-"},
which goes into q as a bare word.  coderd/searchquery/search.go parses both.
"""
import os
import random
import string
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import api_test  # noqa: E402
from api_test import Api, ok, valid, make_user, login, wait_for  # noqa: E402

N = 250
BYPASS = {"X-Coder-Bypass-Ratelimit": "true"}   # the owner's client, as Coder's


def go_query(**params):
    """A query string as Go's url.Values.Encode writes it (keys sorted, + for spaces)."""
    return urllib.parse.urlencode(sorted(params.items()))


def workspace_q(name=None, owner=None, template=None):
    parts = []
    if owner:
        parts.append(f'owner:"{owner}"')
    if name:
        parts.append(f'name:"{name}"')
    if template:
        parts.append(f'template:"{template}"')
    return " ".join(parts)


def pages(api, path, key, q, size=100):
    """Every page until an empty one: (list of page lengths, items, counts seen)."""
    lengths, items, counts = [], [], set()
    for page in range(20):
        st, js = api.call("GET", f"{path}?{go_query(q=q, limit=size, offset=page * size)}", headers=BYPASS)
        if st != 200:
            return lengths, items, {("status", st, str(js))}
        lengths.append(len(js[key]))
        counts.add(js["count"])
        items += js[key]
        if not js[key]:
            break
    return lengths, items, counts


def rand8(rng):
    return "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(8))


def main():
    url, token = sys.argv[1:3]
    api = Api(url, token)
    rng = random.Random(12)
    tpl = api.call("GET", "/api/v2/organizations/default/templates/docker")[1]
    extra = api.call("GET", "/api/v2/organizations/default/templates/extra")[1]

    users, workspaces = [], []
    for i in range(N):
        name = f"scaletest-{rand8(rng)}"
        st, u = api.call("POST", "/api/v2/users", {"email": f"{name}@scaletest.local", "username": name,
                                                   "password": "Sc4le-test-pass!", "login_type": "password"},
                         headers=BYPASS)
        assert st == 201, (st, u)
        st, w = api.call("POST", f"/api/v2/users/{u['id']}/workspaces",
                         {"template_id": tpl["id"], "name": f"scaletest-{rand8(rng)}"}, headers=BYPASS)
        assert st == 201, (st, w)
        users.append(u)
        workspaces.append(w)
    for i in range(5):
        st, u = api.call("POST", "/api/v2/users", {"email": f"dev{i}@example.com", "username": f"dev{i}",
                                                   "password": "Sc4le-test-pass!"}, headers=BYPASS)
        api.call("POST", f"/api/v2/users/{u['id']}/workspaces", {"template_id": extra["id"], "name": f"dev-{i}"},
                 headers=BYPASS)
    st, mine = api.call("POST", "/api/v2/users/me/workspaces", {"template_id": tpl["id"], "name": "owner-own"})

    lengths, items, counts = pages(api, "/api/v2/workspaces", "workspaces", workspace_q(name="scaletest-"))
    ok(lengths == [100, 100, 50, 0] and counts == {N},
       f"{N} workspaces, name:\"scaletest-\", 100 a page: pages of 100, 100, 50, then an empty one; count {N} on each",
       f"{lengths} {counts}")
    ok(sorted(w["id"] for w in items) == sorted(w["id"] for w in workspaces), "the pages hold each workspace once")
    st, js = api.call("GET", f"/api/v2/workspaces?{go_query(q=workspace_q(name='scaletest-'), limit=100)}")
    valid(js, "codersdk.WorkspacesResponse", "a page of workspaces")

    lengths, items, counts = pages(api, "/api/v2/users", "users", "scaletest-")
    ok(lengths == [100, 100, 50, 0] and counts == {N},
       f"{N} users, q=scaletest- (UsersRequest.Search): pages of 100, 100, 50, then an empty one", f"{lengths} {counts}")
    ok(sorted(u["id"] for u in items) == sorted(u["id"] for u in users), "the pages hold each user once")
    st, js = api.call("GET", f"/api/v2/users?{go_query(q='scaletest-', limit=100)}")
    valid(js, "codersdk.GetUsersResponse", "a page of users")

    def count(q, path="/api/v2/workspaces", who=api):
        st, js = who.call("GET", f"{path}?{go_query(q=q)}")
        return js["count"] if st == 200 else (st, js)

    u0, w0 = users[0], workspaces[0]
    ok(count(workspace_q(owner=u0["username"], name="scaletest-", template="docker")) == 1,
       "owner:\"X\" name:\"scaletest-\" template:\"docker\" (Coder's filter with --template): that user's one")
    ok(count(workspace_q(template="extra")) == 5, "template:\"extra\": the five others")
    ok(count(workspace_q(name="ALETEST-")) == N, "name: matches a substring, without case (coderd: ILIKE '%name%')")
    ok(count(workspace_q(name=w0["name"][-5:])) >= 1, "... anywhere in the name")
    ok(count(workspace_q(owner=u0["username"].upper())) == 1, "owner: a username, without case")
    ok(count(f"{u0['username']}/{w0['name']}") == 1, "a bare OWNER/NAME, as coderd reads it")
    ok(count(w0["name"]) >= 1, "a bare word is a name")
    ok(count('owner:"me"') == 1, "owner:\"me\" is the caller's own")
    ok(count("name:scaletest- template:docker") == N, "values without quotes too")
    ok(count('owner:"nobody"') == 0, "an unknown owner: none")
    wait_for(lambda: count('status:"running"') == N + 6)
    ok(count('status:"running"') == N + 6, "status: the latest build's status")

    st, js = api.call("GET", f"/api/v2/workspaces?{go_query(q='foo:bar')}")
    ok(st == 400 and js == {"message": "Invalid workspace search query.",
                            "validations": [{"detail": '"foo" is not a valid query param', "field": "foo"}]},
       "an unknown key: 400, as coderd's ErrorExcessParams", repr(js))
    st, js = api.call("GET", f"/api/v2/workspaces?{go_query(q='name:a:b')}")
    ok(st == 400 and js["validations"][0]["detail"] == "Query element \"name:a:b\" can only contain 1 ':'",
       "two ':' in one term: 400", repr(js))
    st, js = api.call("GET", f"/api/v2/workspaces?{go_query(q=':x')}")
    ok(st == 400 and js["validations"][0] == {"detail": "Query element \":x\" cannot start or end with ':'", "field": "q"},
       "a term starting with ':': 400", repr(js))
    st, js = api.call("GET", f"/api/v2/workspaces?{go_query(q='a/b/c')}")
    ok(st == 400 and js["validations"][0]["detail"] == "Query element \"a/b/c\" can only contain 1 '/'",
       "a bare term with two '/': 400", repr(js))
    st, js = api.call("GET", f"/api/v2/users?{go_query(q='username:x')}")
    ok(st == 400 and js["message"] == "Invalid user search query.", "a user query key coderd does not have: 400",
       repr(js))
    ok(count("SCALETEST-", "/api/v2/users") == N, "users: a bare word matches username or e-mail, without case")
    ok(count("@scaletest.local", "/api/v2/users") == N, "... the e-mail too")
    ok(count("status:active scaletest-", "/api/v2/users") == N, "users: status:active")

    # what a member sees: their own workspaces only
    m = Api(url, login(api, u0["username"]))
    ok(count(workspace_q(name="scaletest-"), who=m) == 1, "a member lists only their own workspace")

    st, js = api.call("GET", "/api/v2/deployment/config")
    ok(st == 200 and js["config"]["disable_owner_workspace_exec"] is False,
       "GET /deployment/config: disable_owner_workspace_exec false (Coder's cleanup reads it)")
    valid(js, "codersdk.DeploymentConfig", "deployment config")
    st, js = m.call("GET", "/api/v2/deployment/config")
    ok(st == 403, "... a member: 403, as coderd")
    print(f"1..{api_test.N}")
    return 1 if api_test.FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
