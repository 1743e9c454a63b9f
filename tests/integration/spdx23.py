"""An SPDX 2.3 JSON checker written from the specification
(spdx.github.io/spdx-spec/v2.3), as no package here ships the SPDX schema.

check(doc) returns a list of problems ([] when the document conforms):
- document creation info (clause 6): spdxVersion "SPDX-2.3", dataLicense
  "CC0-1.0", SPDXID "SPDXRef-DOCUMENT", name, documentNamespace (an absolute
  URI without "#"), creationInfo.created (YYYY-MM-DDThh:mm:ssZ), creators
  ("Person: ", "Organization: " or "Tool: ");
- packages (clause 7): name, SPDXID (SPDXRef- then letters, digits, "." and
  "-", unique in the document), downloadLocation (NONE, NOASSERTION or a
  location), filesAnalyzed false means no packageVerificationCode and no
  hasFiles; licenseConcluded/licenseDeclared NONE, NOASSERTION or an
  expression whose LicenseRef- ids are defined in hasExtractedLicensingInfos;
  copyrightText present; checksums with a known algorithm and a hex value
  of that algorithm's length; externalRefs with a category from the list,
  and for purl a PACKAGE-MANAGER category and a locator of the purl shape;
  primaryPackagePurpose from the list;
- relationships (clause 11): known types, both ends defined in the document
  (or NONE/NOASSERTION as related element), at least one DESCRIBES from the
  document; every package reachable from the document.
"""
import re

SPDXID = re.compile(r"^SPDXRef-[A-Za-z0-9.\-]+$")
CREATED = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
PURL = re.compile(r"^pkg:[a-z.+\-][a-z0-9.+\-]*/[^@?#\s]+(@[^?#\s]+)?(\?[^#\s]*)?(#\S*)?$")
LICREF = re.compile(r"^(DocumentRef-[A-Za-z0-9.\-]+:)?LicenseRef-[A-Za-z0-9.\-]+$")
CHECKSUM_LEN = {"SHA1": 40, "SHA224": 56, "SHA256": 64, "SHA384": 96, "SHA512": 128,
                "SHA3-256": 64, "SHA3-384": 96, "SHA3-512": 128, "MD2": 32, "MD4": 32,
                "MD5": 32, "MD6": None, "BLAKE2b-256": 64, "BLAKE2b-384": 96,
                "BLAKE2b-512": 128, "BLAKE3": None, "ADLER32": 8}
CATEGORIES = {"SECURITY", "PACKAGE-MANAGER", "PERSISTENT-ID", "OTHER"}
PURPOSES = {"APPLICATION", "FRAMEWORK", "LIBRARY", "CONTAINER", "OPERATING-SYSTEM", "DEVICE",
            "FIRMWARE", "SOURCE", "ARCHIVE", "FILE", "INSTALL", "OTHER"}
RELATIONSHIPS = set("""DESCRIBES DESCRIBED_BY CONTAINS CONTAINED_BY DEPENDS_ON DEPENDENCY_OF
DEPENDENCY_MANIFEST_OF BUILD_DEPENDENCY_OF DEV_DEPENDENCY_OF OPTIONAL_DEPENDENCY_OF
PROVIDED_DEPENDENCY_OF TEST_DEPENDENCY_OF RUNTIME_DEPENDENCY_OF EXAMPLE_OF GENERATES
GENERATED_FROM ANCESTOR_OF DESCENDANT_OF VARIANT_OF DISTRIBUTION_ARTIFACT PATCH_FOR
PATCH_APPLIED COPY_OF FILE_ADDED FILE_DELETED FILE_MODIFIED EXPANDED_FROM_ARCHIVE
DYNAMIC_LINK STATIC_LINK DATA_FILE_OF TEST_CASE_OF BUILD_TOOL_OF DEV_TOOL_OF TEST_OF
TEST_TOOL_OF DOCUMENTATION_OF OPTIONAL_COMPONENT_OF METAFILE_OF PACKAGE_OF AMENDS
PREREQUISITE_FOR HAS_PREREQUISITE REQUIREMENT_DESCRIPTION_FOR SPECIFICATION_FOR OTHER""".split())


def _license(expr, defined, where, problems):
    if expr in ("NONE", "NOASSERTION"):
        return
    if not isinstance(expr, str) or not expr.strip():
        problems.append("%s: empty licence expression" % where)
        return
    tokens = re.findall(r"\(|\)|[^\s()]+", expr)
    depth, want_id = 0, True
    for t in tokens:
        if t == "(":
            depth += 1
        elif t == ")":
            depth -= 1
            if depth < 0:
                problems.append("%s: unbalanced parentheses in %r" % (where, expr))
                return
        elif t in ("AND", "OR", "WITH"):
            if want_id:
                problems.append("%s: operator %s without an operand in %r" % (where, t, expr))
            want_id = True
        else:
            if not want_id:
                problems.append("%s: two licence ids in a row in %r" % (where, expr))
            if t.startswith("LicenseRef-") or t.startswith("DocumentRef-"):
                if not LICREF.match(t):
                    problems.append("%s: bad LicenseRef %r" % (where, t))
                elif t not in defined:
                    problems.append("%s: %s is not in hasExtractedLicensingInfos" % (where, t))
            elif not re.match(r"^[A-Za-z0-9.\-]+\+?$", t):
                problems.append("%s: %r is not a licence id" % (where, t))
            want_id = False
    if depth != 0 or want_id:
        problems.append("%s: incomplete licence expression %r" % (where, expr))


def check(doc):
    p = []
    for k, v in (("spdxVersion", "SPDX-2.3"), ("dataLicense", "CC0-1.0"), ("SPDXID", "SPDXRef-DOCUMENT")):
        if doc.get(k) != v:
            p.append("document %s must be %s, is %r" % (k, v, doc.get(k)))
    if not doc.get("name"):
        p.append("document name missing")
    ns = doc.get("documentNamespace", "")
    if not re.match(r"^[a-z][a-z0-9+.\-]*://\S+$", ns) or "#" in ns:
        p.append("documentNamespace %r is not an absolute URI without '#'" % ns)
    ci = doc.get("creationInfo") or {}
    if not CREATED.match(ci.get("created", "")):
        p.append("creationInfo.created %r is not YYYY-MM-DDThh:mm:ssZ" % ci.get("created"))
    creators = ci.get("creators") or []
    if not creators or not all(re.match(r"^(Person|Organization|Tool): \S", c) for c in creators):
        p.append("creationInfo.creators %r" % creators)
    defined = set()
    for e in doc.get("hasExtractedLicensingInfos", []):
        if not LICREF.match(e.get("licenseId", "")) or "extractedText" not in e:
            p.append("extracted licence %r needs licenseId LicenseRef-... and extractedText" % e)
        defined.add(e.get("licenseId"))
    ids = {"SPDXRef-DOCUMENT"}
    for pkg in doc.get("packages", []):
        sid = pkg.get("SPDXID", "")
        w = "package %s" % sid
        if not SPDXID.match(sid):
            p.append("%s: bad SPDXID" % w)
        if sid in ids:
            p.append("%s: SPDXID not unique" % w)
        ids.add(sid)
        if not pkg.get("name"):
            p.append("%s: no name" % w)
        if "downloadLocation" not in pkg:
            p.append("%s: no downloadLocation" % w)
        if pkg.get("filesAnalyzed", True) is False and ("packageVerificationCode" in pkg or "hasFiles" in pkg):
            p.append("%s: filesAnalyzed false with a verification code or files" % w)
        if pkg.get("filesAnalyzed", True) is not False and "packageVerificationCode" not in pkg:
            p.append("%s: filesAnalyzed true (default) needs packageVerificationCode" % w)
        for k in ("licenseConcluded", "licenseDeclared"):
            if k in pkg:
                _license(pkg[k], defined, "%s %s" % (w, k), p)
        if "copyrightText" not in pkg:
            p.append("%s: no copyrightText" % w)
        for c in pkg.get("checksums", []):
            n = CHECKSUM_LEN.get(c.get("algorithm"), -1)
            if n == -1:
                p.append("%s: checksum algorithm %r" % (w, c.get("algorithm")))
            elif n and not re.match(r"^[0-9a-f]{%d}$" % n, c.get("checksumValue", "")):
                p.append("%s: checksum %r is not %d lowercase hex digits" % (w, c.get("checksumValue"), n))
        for r in pkg.get("externalRefs", []):
            if r.get("referenceCategory") not in CATEGORIES:
                p.append("%s: reference category %r" % (w, r.get("referenceCategory")))
            if r.get("referenceType") == "purl":
                if r.get("referenceCategory") != "PACKAGE-MANAGER":
                    p.append("%s: purl must be a PACKAGE-MANAGER reference" % w)
                if not PURL.match(r.get("referenceLocator", "")):
                    p.append("%s: purl locator %r" % (w, r.get("referenceLocator")))
        if "primaryPackagePurpose" in pkg and pkg["primaryPackagePurpose"] not in PURPOSES:
            p.append("%s: primaryPackagePurpose %r" % (w, pkg["primaryPackagePurpose"]))
    edges, describes = {}, False
    for r in doc.get("relationships", []):
        a, t, b = r.get("spdxElementId"), r.get("relationshipType"), r.get("relatedSpdxElement")
        if t not in RELATIONSHIPS:
            p.append("relationship type %r" % t)
        if a not in ids:
            p.append("relationship from undefined %r" % a)
        if b not in ids and b not in ("NONE", "NOASSERTION"):
            p.append("relationship to undefined %r" % b)
        if a == "SPDXRef-DOCUMENT" and t == "DESCRIBES":
            describes = True
        edges.setdefault(a, set()).add(b)
    if not describes and not doc.get("documentDescribes"):
        p.append("no DESCRIBES relationship from the document")
    seen, todo = set(), ["SPDXRef-DOCUMENT"] + list(doc.get("documentDescribes", []))
    while todo:
        x = todo.pop()
        if x not in seen:
            seen.add(x)
            todo.extend(edges.get(x, ()))
    for sid in ids - seen:
        p.append("%s is not reachable from the document" % sid)
    return p
