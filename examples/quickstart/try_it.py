"""Play two clients against a quickstart app and print what each one gets."""


def try_it(app, url):
    alice = app.test_client()
    bob = app.test_client()

    read = alice.get(url)
    etag = read.headers["ETag"]
    print(f"Alice: GET {url} -> {read.status_code}, ETag {etag}")

    again = alice.get(url, headers={"If-None-Match": etag})
    print(f"Alice: GET with If-None-Match -> {again.status_code}")

    blind = bob.put(url, json={})
    print(f"Bob:   PUT without If-Match -> {blind.status_code}")

    bob_read = bob.get(url)
    bob_write = bob.put(
        url,
        json=change(bob_read.get_json()),
        headers={"If-Match": bob_read.headers["ETag"]},
    )
    print(f"Bob:   PUT with If-Match -> {bob_write.status_code}")

    stale = alice.put(url, json=change(read.get_json()), headers={"If-Match": etag})
    problem = stale.get_json()
    print(f"Alice: PUT with her old ETag -> {stale.status_code} {problem['title']}")


def change(document):
    """The same document with its first value edited."""
    key = next(iter(document))
    return {key: document[key] + " (edited)"}
