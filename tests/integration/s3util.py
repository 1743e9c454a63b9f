"""Helpers of the s3 store tests: buckets and listings through requests
signed here (the test's own S3 client, independent of berth's), a `berth
serve` configured on S3, and blob push/pull over the distribution API."""
import datetime
import hashlib
import hmac
import os
import re
import tempfile
import urllib.parse
import uuid

import requests

from conftest import BerthServer

RGW_KEYS = ("ciaccess", "cisecret")
SWIFT_KEYS = ("test:tester", "testing")


def endpoint(var="BERTH_TEST_S3_ENDPOINT", peer="ceph-rgw"):
    ep = os.environ.get(var)
    assert ep, ("%s is not set: run this test through ctest (fixture %s, "
                "tests/peers/%s-start.sh; apt-get install ceph radosgw swift "
                "swift-proxy swift-object swift-container swift-account python3-swift "
                "memcached, see scripts/deps.sh)" % (var, peer, peer))
    return ep


def _hmac(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def s3curl(ep, keys, method, path, data=None, extra=()):
    """One SigV4-signed request (signed here, independently of berth and of
    curl, whose --user cannot carry Swift's "account:user" access keys);
    returns (status, body bytes). `path` holds the query, keys in order and
    values escaped."""
    u = urllib.parse.urlsplit(ep + path)
    now = datetime.datetime.now(datetime.timezone.utc)
    stamp, date = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    payload = hashlib.sha256(data or b"").hexdigest()
    query = "&".join(p if "=" in p else p + "=" for p in u.query.split("&") if p)
    creq = "\n".join([method, u.path or "/", query, "host:" + u.netloc,
                      "x-amz-content-sha256:" + payload, "x-amz-date:" + stamp, "",
                      "host;x-amz-content-sha256;x-amz-date", payload])
    scope = "%s/us-east-1/s3/aws4_request" % date
    sts = "\n".join(["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(creq.encode()).hexdigest()])
    k = _hmac(("AWS4" + keys[1]).encode(), date)
    for part in ("us-east-1", "s3", "aws4_request"):
        k = _hmac(k, part)
    sig = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
    headers = {"x-amz-date": stamp, "x-amz-content-sha256": payload,
               "Authorization": "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=host;"
                                "x-amz-content-sha256;x-amz-date, Signature=%s"
                                % (keys[0], scope, sig)}
    url = "%s://%s%s%s" % (u.scheme, u.netloc, u.path, "?" + query if query else "")
    r = requests.request(method, url, data=data, headers=headers)
    return r.status_code, r.content


def make_bucket(ep, keys):
    name = "b" + uuid.uuid4().hex[:16]
    code, body = s3curl(ep, keys, "PUT", "/" + name)
    assert code == 200, body
    return name


def list_keys(ep, keys, bucket, prefix=""):
    # curl signs the query as written: keys in order, values escaped
    code, body = s3curl(ep, keys, "GET", "/%s?list-type=2&prefix=%s" % (
        bucket, urllib.parse.quote(prefix, safe="")))
    assert code == 200, body
    return re.findall(r"<Key>([^<]*)</Key>", body.decode())


def s3_config(ep, keys, bucket, **extra):
    lines = ["version: 0.1", "storage:", "  s3:", "    endpoint: %s" % ep,
             "    region: us-east-1", "    bucket: %s" % bucket,
             "    accesskey: \"%s\"" % keys[0], "    secretkey: \"%s\"" % keys[1],
             "    forcepathstyle: true", "    chunksize: 5242880"]
    lines += ["    %s: %s" % kv for kv in extra.items()]
    return "\n".join(lines) + "\n"


class S3Server:
    """berth serve with storage.s3 on `bucket`; the data dir keeps the database."""

    def __init__(self, ep, keys, bucket, **extra):
        self.tmp = tempfile.TemporaryDirectory(prefix="berth-s3-")
        cfg = os.path.join(self.tmp.name, "config.yml")
        with open(cfg, "w") as f:
            f.write(s3_config(ep, keys, bucket, **extra))
        self.config = cfg
        self.srv = BerthServer(os.path.join(self.tmp.name, "var"),
                               ["--config", cfg, "--insecure-open"])
        os.makedirs(self.srv.data, exist_ok=True)

    def __enter__(self):
        self.srv.start()
        return self.srv

    def __exit__(self, *exc):
        rc = self.srv.stop()
        self.tmp.cleanup()
        assert rc in (0, None), "server exit %r\n%s" % (rc, self.srv.read_log())


def dg(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def absolute(srv, loc):
    return loc if loc.startswith("http") else srv.url + loc


def push_chunked(srv, repo, blob, step):
    r = requests.post(srv.url + "/v2/%s/blobs/uploads/" % repo)
    assert r.status_code == 202, r.text
    loc = r.headers["Location"]
    off = 0
    while off < len(blob):
        chunk = blob[off:off + step]
        r = requests.patch(absolute(srv, loc), data=chunk, headers={
            "Content-Range": "%d-%d" % (off, off + len(chunk) - 1),
            "Content-Type": "application/octet-stream"})
        assert r.status_code == 202, r.text
        loc = r.headers["Location"]
        off += len(chunk)
    url = absolute(srv, loc)
    return requests.put(url + ("&" if "?" in url else "?") + "digest=" + dg(blob))


def push_monolithic(srv, repo, blob, digest=None):
    return requests.post(srv.url + "/v2/%s/blobs/uploads/?digest=%s" % (repo, digest or dg(blob)),
                         data=blob, headers={"Content-Type": "application/octet-stream"})


def push_manifest(srv, repo, tag, config, layers):
    m = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
         "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                    "digest": dg(config), "size": len(config)},
         "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                     "digest": dg(l), "size": len(l)} for l in layers]}
    import json
    body = json.dumps(m).encode()
    r = requests.put(srv.url + "/v2/%s/manifests/%s" % (repo, tag), data=body,
                     headers={"Content-Type": m["mediaType"]})
    assert r.status_code == 201, r.text
    return body
