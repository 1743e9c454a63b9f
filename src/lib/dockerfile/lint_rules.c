/*
 * lint_rules.c - the lint rule table: id, family, default severity, the
 * one-line message, why the rule exists, and two example Dockerfiles (one
 * the rule flags, one it does not). docs/lint-rules.md is generated from
 * this table, and tests/unit/dockerfile/lint_rules.c lints every example,
 * so the documentation cannot drift from the behaviour.
 */
#include "lint_internal.h"

#define BK BERTH_LINT_BUILDKIT
#define HL BERTH_LINT_HADOLINT
#define BL BERTH_LINT_BERTH
#define E BERTH_LINT_ERROR
#define W BERTH_LINT_WARNING
#define I BERTH_LINT_INFO
#define S BERTH_LINT_STYLE
#define OFF BERTH_LINT_IGNORE

#define R(id, fam, sev, summary, why, bad, good)                                                   \
	{                                                                                          \
		id, fam, sev, summary, why, bad, good, NULL, NULL                                  \
	}
#define RC(id, fam, sev, summary, why, bad, good, cfg)                                             \
	{                                                                                          \
		id, fam, sev, summary, why, bad, good, cfg, NULL                                   \
	}
#define RI(id, fam, sev, summary, why, bad, good, ign)                                             \
	{                                                                                          \
		id, fam, sev, summary, why, bad, good, NULL, ign                                   \
	}

#define LABELS                                                                                     \
	"label-schema:\n  org.opencontainers.image.source: url\n"                                  \
	"  org.opencontainers.image.created: rfc3339\n  org.opencontainers.image.licenses: spdx\n" \
	"  org.opencontainers.image.revision: hash\n  org.opencontainers.image.version: semver\n"  \
	"  org.opencontainers.image.authors: email\n"

const berth_lint_rule berth_lint__table[] = {
	/* ---- BuildKit build checks ---- */
	R("StageNameCasing", BK, W, "Stage names should be lowercase",
	  "Stage names are matched case-insensitively; mixed case reads as if it mattered.",
	  "FROM alpine:3.20 AS Builder\n", "FROM alpine:3.20 AS builder\n"),
	R("FromAsCasing", BK, W, "The 'as' keyword should match the case of the 'from' keyword",
	  "Consistent keyword casing keeps a Dockerfile readable.", "FROM alpine:3.20 as builder\n",
	  "FROM alpine:3.20 AS builder\n"),
	R("NoEmptyContinuation", BK, W,
	  "Empty continuation lines will become errors in a future release",
	  "An empty line inside a continued instruction is easy to misread as its end.",
	  "FROM alpine:3.20\nRUN apk add --no-cache \\\n\n    curl\n",
	  "FROM alpine:3.20\nRUN apk add --no-cache \\\n    curl\n"),
	R("ConsistentInstructionCasing", BK, W,
	  "All commands within the Dockerfile should use the same casing (either upper or lower)",
	  "Mixed instruction casing makes files harder to scan; the majority casing wins.",
	  "FROM alpine:3.20\nrun echo hi\nCMD [\"sh\"]\n",
	  "FROM alpine:3.20\nRUN echo hi\nCMD [\"sh\"]\n"),
	R("DuplicateStageName", BK, W, "Stage names should be unique",
	  "A second stage with the same name makes --from and --target ambiguous.",
	  "FROM alpine:3.20 AS build\nFROM alpine:3.20 AS build\n",
	  "FROM alpine:3.20 AS build\nFROM alpine:3.20 AS test\n"),
	R("ReservedStageName", BK, W, "Reserved words should not be used as stage names",
	  "'scratch' and 'context' have meanings of their own in FROM and --from.",
	  "FROM alpine:3.20 AS scratch\n", "FROM alpine:3.20 AS base\n"),
	R("JSONArgsRecommended", BK, W,
	  "JSON arguments recommended for ENTRYPOINT/CMD to prevent unintended behavior related to "
	  "OS "
	  "signals",
	  "In shell form the process runs under /bin/sh -c, which does not pass signals on.",
	  "FROM alpine:3.20\nCMD node server.js\n",
	  "FROM alpine:3.20\nCMD [\"node\", \"server.js\"]\n"),
	R("MaintainerDeprecated", BK, W,
	  "The MAINTAINER instruction is deprecated, use a label instead to define an image author",
	  "MAINTAINER is deprecated; the OCI annotation label carries the same fact.",
	  "FROM alpine:3.20\nMAINTAINER ops@example.com\n",
	  "FROM alpine:3.20\nLABEL org.opencontainers.image.authors=\"ops@example.com\"\n"),
	R("UndefinedArgInFrom", BK, W, "FROM command must use declared ARGs",
	  "A FROM line sees only ARGs declared before the first FROM; others expand to nothing.",
	  "FROM alpine:${VERSION}\n", "ARG VERSION=3.20\nFROM alpine:${VERSION}\n"),
	R("WorkdirRelativePath", BK, W,
	  "Relative workdir without an absolute workdir declared within the build can have "
	  "unexpected "
	  "results if the base image changes",
	  "A relative WORKDIR resolves against whatever the base image set.",
	  "FROM alpine:3.20\nWORKDIR app\n", "FROM alpine:3.20\nWORKDIR /app\nWORKDIR src\n"),
	R("UndefinedVar", BK, W, "Variables should be defined before their use",
	  "An undefined variable expands to an empty string, which is rarely intended.",
	  "FROM alpine:3.20\nCOPY $SRC /app/\n", "FROM alpine:3.20\nARG SRC=.\nCOPY $SRC /app/\n"),
	R("MultipleInstructionsDisallowed", BK, W,
	  "Multiple instructions of the same type should not be used in the same stage",
	  "Only the last CMD, ENTRYPOINT or HEALTHCHECK of a stage takes effect.",
	  "FROM alpine:3.20\nCMD [\"a\"]\nCMD [\"b\"]\n", "FROM alpine:3.20\nCMD [\"b\"]\n"),
	R("LegacyKeyValueFormat", BK, W,
	  "Legacy key/value format with whitespace separator should not be used",
	  "`ENV key value` cannot hold several pairs and is ambiguous with spaces in values.",
	  "FROM alpine:3.20\nENV MODE production\n", "FROM alpine:3.20\nENV MODE=production\n"),
	R("RedundantTargetPlatform", BK, W,
	  "Setting platform to predefined $TARGETPLATFORM in FROM is redundant as this is the "
	  "default "
	  "behavior",
	  "FROM already builds for the target platform.",
	  "FROM --platform=$TARGETPLATFORM alpine:3.20\n", "FROM alpine:3.20\n"),
	R("SecretsUsedInArgOrEnv", BK, W,
	  "Sensitive data should not be used in the ARG or ENV commands",
	  "ARG and ENV values are stored in the image history and config; use secret mounts.",
	  "FROM alpine:3.20\nARG GITHUB_TOKEN\n", "FROM alpine:3.20\nARG GITHUB_USER\n"),
	R("InvalidDefaultArgInFrom", BK, W,
	  "Default value for global ARG results in an empty or invalid base image name",
	  "Without a --build-arg the FROM line would name no valid image.",
	  "ARG TAG\nFROM alpine:$TAG\n", "ARG TAG=3.20\nFROM alpine:$TAG\n"),
	R("FromPlatformFlagConstDisallowed", BK, W,
	  "FROM --platform flag should not use a constant value",
	  "A constant platform defeats multi-platform builds; use $BUILDPLATFORM or name the stage "
	  "for the platform.",
	  "FROM --platform=linux/amd64 alpine:3.20 AS build\n",
	  "FROM --platform=$BUILDPLATFORM alpine:3.20 AS build\n"),
	RI("CopyIgnoredFile", BK, W, "Attempting to Copy file that is excluded by .dockerignore",
	   "A source excluded from the context is not there at build time.",
	   "FROM alpine:3.20\nCOPY secrets.txt /app/\n", "FROM alpine:3.20\nCOPY app.txt /app/\n",
	   "secrets.txt\n"),
	R("ExposeProtoCasing", BK, W, "Protocol in EXPOSE instruction should be lowercase",
	  "The protocol is matched in lower case.", "FROM alpine:3.20\nEXPOSE 80/TCP\n",
	  "FROM alpine:3.20\nEXPOSE 80/tcp\n"),
	R("ExposeInvalidFormat", BK, W,
	  "IP address and host-port mapping should not be used in EXPOSE instruction",
	  "EXPOSE documents container ports; host mappings belong to `docker run -p`.",
	  "FROM alpine:3.20\nEXPOSE 127.0.0.1:80:80\n", "FROM alpine:3.20\nEXPOSE 80\n"),

	/* ---- hadolint ---- */
	R("DL3000", HL, E, "Use absolute WORKDIR.",
	  "A relative WORKDIR depends on the previous one.", "FROM alpine:3.20\nWORKDIR app\n",
	  "FROM alpine:3.20\nWORKDIR /app\n"),
	R("DL3001", HL, I,
	  "For some bash commands it makes no sense running them in a Docker container like ssh, "
	  "vim, "
	  "shutdown, service, ps, free, top, kill, mount, ifconfig.",
	  "Interactive and system-management tools do nothing useful during a build.",
	  "FROM alpine:3.20\nRUN service nginx start\n", "FROM alpine:3.20\nRUN echo ok\n"),
	R("DL3002", HL, W, "Last USER should not be root.",
	  "Containers should not run as root by default.",
	  "FROM alpine:3.20\nUSER app\nUSER root\n", "FROM alpine:3.20\nUSER root\nUSER app\n"),
	R("DL3003", HL, W, "Use WORKDIR to switch to a directory.",
	  "`cd` in RUN lasts one command; WORKDIR is explicit and persistent.",
	  "FROM alpine:3.20\nRUN cd /tmp && echo hi\n",
	  "FROM alpine:3.20\nWORKDIR /tmp\nRUN echo hi\n"),
	R("DL3004", HL, E,
	  "Do not use sudo as it leads to unpredictable behavior. Use a tool like gosu to enforce "
	  "root.",
	  "sudo needs a TTY and configuration and hides who runs what.",
	  "FROM alpine:3.20\nRUN sudo apk add --no-cache curl=8.9.1-r0\n",
	  "FROM alpine:3.20\nRUN apk add --no-cache curl=8.9.1-r0\n"),
	R("DL3005", HL, OFF, "Do not use apt-get upgrade or dist-upgrade",
	  "Retired in hadolint 2 (upgrading is now advised); kept off by default, enable with an "
	  "override.",
	  "FROM debian:12\nRUN apt-get upgrade\n", "FROM debian:12\nRUN apt-get check\n"),
	R("DL3006", HL, W, "Always tag the version of an image explicitly",
	  "An untagged image means 'latest', which moves.", "FROM debian\n", "FROM debian:12\n"),
	R("DL3007", HL, W,
	  "Using latest is prone to errors if the image will ever update. Pin the version "
	  "explicitly "
	  "to a release tag",
	  "'latest' changes without notice.", "FROM debian:latest\n", "FROM debian:12\n"),
	R("DL3008", HL, W,
	  "Pin versions in apt get install. Instead of `apt-get install <package>` use `apt-get "
	  "install <package>=<version>`",
	  "Unpinned packages make builds unrepeatable.",
	  "FROM debian:12\nRUN apt-get install -y --no-install-recommends curl\n",
	  "FROM debian:12\nRUN apt-get install -y --no-install-recommends curl=7.88.1-10\n"),
	R("DL3009", HL, I, "Delete the apt-get lists after installing something.",
	  "The package lists add tens of megabytes to the layer.",
	  "FROM debian:12\nRUN apt-get update && apt-get install -y --no-install-recommends "
	  "curl=7.88.1-10\n",
	  "FROM debian:12\nRUN apt-get update && apt-get install -y --no-install-recommends "
	  "curl=7.88.1-10 && rm -rf /var/lib/apt/lists/*\n"),
	R("DL3010", HL, I, "Use ADD for extracting archives into an image.",
	  "ADD unpacks a local tar archive in one step, without keeping the archive in a layer.",
	  "FROM alpine:3.20\nCOPY app.tar.gz /tmp/\nRUN tar -xzf /tmp/app.tar.gz -C /opt\n",
	  "FROM alpine:3.20\nADD app.tar.gz /opt/\n"),
	R("DL3011", HL, E, "Valid UNIX ports range from 0 to 65535.",
	  "Ports above 65535 do not exist.", "FROM alpine:3.20\nEXPOSE 80000\n",
	  "FROM alpine:3.20\nEXPOSE 8000\n"),
	R("DL3012", HL, E, "Multiple `HEALTHCHECK` instructions.",
	  "Only the last HEALTHCHECK of a stage is used.",
	  "FROM alpine:3.20\nHEALTHCHECK CMD [\"true\"]\nHEALTHCHECK CMD [\"false\"]\n",
	  "FROM alpine:3.20\nHEALTHCHECK CMD [\"true\"]\n"),
	R("DL3013", HL, W,
	  "Pin versions in pip. Instead of `pip install <package>` use `pip install "
	  "<package>==<version>` or `pip install --requirement <requirements file>`",
	  "Unpinned Python packages make builds unrepeatable.",
	  "FROM python:3.12\nRUN pip install --no-cache-dir flask\n",
	  "FROM python:3.12\nRUN pip install --no-cache-dir flask==3.0.3\n"),
	R("DL3014", HL, W,
	  "Use the `-y` switch to avoid manual input `apt-get -y install <package>`",
	  "Without -y apt-get waits for an answer that never comes.",
	  "FROM debian:12\nRUN apt-get install --no-install-recommends curl=7.88.1-10\n",
	  "FROM debian:12\nRUN apt-get install -y --no-install-recommends curl=7.88.1-10\n"),
	R("DL3015", HL, I, "Avoid additional packages by specifying `--no-install-recommends`",
	  "Recommended packages bloat the image with things nobody asked for.",
	  "FROM debian:12\nRUN apt-get install -y curl=7.88.1-10\n",
	  "FROM debian:12\nRUN apt-get install -y --no-install-recommends curl=7.88.1-10\n"),
	R("DL3016", HL, W,
	  "Pin versions in npm. Instead of `npm install <package>` use `npm install "
	  "<package>@<version>`",
	  "Unpinned npm packages make builds unrepeatable.",
	  "FROM node:20\nRUN npm install express\n",
	  "FROM node:20\nRUN npm install express@4.19.2\n"),
	R("DL3017", HL, OFF, "Do not use apk upgrade",
	  "Retired in hadolint 2; kept off by default, enable with an override.",
	  "FROM alpine:3.20\nRUN apk upgrade\n", "FROM alpine:3.20\nRUN apk info\n"),
	R("DL3018", HL, W,
	  "Pin versions in apk add. Instead of `apk add <package>` use `apk add "
	  "<package>=<version>`",
	  "Unpinned packages make builds unrepeatable.",
	  "FROM alpine:3.20\nRUN apk add --no-cache curl\n",
	  "FROM alpine:3.20\nRUN apk add --no-cache curl=8.9.1-r0\n"),
	R("DL3019", HL, I,
	  "Use the `--no-cache` switch to avoid the need to use `--update` and remove "
	  "`/var/cache/apk/*` when done installing packages",
	  "The apk index cache stays in the layer otherwise.",
	  "FROM alpine:3.20\nRUN apk add curl=8.9.1-r0\n",
	  "FROM alpine:3.20\nRUN apk add --no-cache curl=8.9.1-r0\n"),
	R("DL3020", HL, E, "Use COPY instead of ADD for files and folders",
	  "ADD's URL and unpacking magic surprises; COPY does only what it says.",
	  "FROM alpine:3.20\nADD app.py /app/\n", "FROM alpine:3.20\nCOPY app.py /app/\n"),
	R("DL3021", HL, E,
	  "COPY with more than 2 arguments requires the last argument to end with /",
	  "Several sources can only go into a directory.",
	  "FROM alpine:3.20\nCOPY a.txt b.txt /app\n",
	  "FROM alpine:3.20\nCOPY a.txt b.txt /app/\n"),
	R("DL3022", HL, W, "COPY --from should reference a previously defined FROM alias",
	  "A --from that names no earlier stage is read as an image name.",
	  "FROM alpine:3.20\nCOPY --from=build /app /app\n",
	  "FROM alpine:3.20 AS build\nFROM alpine:3.20\nCOPY --from=build /app /app\n"),
	R("DL3023", HL, E, "COPY --from cannot reference its own FROM alias",
	  "A stage cannot copy from itself.", "FROM alpine:3.20 AS app\nCOPY --from=app /a /b\n",
	  "FROM alpine:3.20 AS build\nFROM alpine:3.20 AS app\nCOPY --from=build /a /b\n"),
	R("DL3024", HL, E, "FROM aliases (stage names) must be unique",
	  "Duplicate stage names make --from ambiguous.",
	  "FROM alpine:3.20 AS a\nFROM alpine:3.20 AS a\n",
	  "FROM alpine:3.20 AS a\nFROM alpine:3.20 AS b\n"),
	R("DL3025", HL, W, "Use arguments JSON notation for CMD and ENTRYPOINT arguments",
	  "Shell form runs under /bin/sh -c, which does not forward signals.",
	  "FROM alpine:3.20\nENTRYPOINT /app\n", "FROM alpine:3.20\nENTRYPOINT [\"/app\"]\n"),
	RC("DL3026", HL, E, "Use only an allowed registry in the FROM image",
	   "Images from unvetted registries bypass the company's scanning.",
	   "FROM quay.io/team/app:1.0\n", "FROM registry.company.com/base/app:1.0\n",
	   "trustedRegistries:\n  - registry.company.com\n"),
	R("DL3027", HL, W,
	  "Do not use apt as it is meant to be an end-user tool, use apt-get or apt-cache instead",
	  "apt's interface is not stable for scripts.", "FROM debian:12\nRUN apt install -y curl\n",
	  "FROM debian:12\nRUN apt-get install -y --no-install-recommends curl=7.88.1-10\n"),
	R("DL3028", HL, W,
	  "Pin versions in gem install. Instead of `gem install <gem>` use `gem install "
	  "<gem>:<version>`",
	  "Unpinned gems make builds unrepeatable.", "FROM ruby:3.3\nRUN gem install rails\n",
	  "FROM ruby:3.3\nRUN gem install rails:7.1.3\n"),
	R("DL3029", HL, W, "Do not use --platform flag with FROM",
	  "A fixed platform in FROM overrides the build's --platform.",
	  "FROM --platform=linux/amd64 alpine:3.20\n", "FROM alpine:3.20\n"),
	R("DL3030", HL, W, "Use the -y switch to avoid manual input `yum install -y <package>`",
	  "Without -y yum waits for an answer.",
	  "FROM rockylinux:9\nRUN yum install httpd-2.4.57 && yum clean all\n",
	  "FROM rockylinux:9\nRUN yum install -y httpd-2.4.57 && yum clean all\n"),
	R("DL3031", HL, OFF, "Do not use yum update.",
	  "Retired in hadolint 2; kept off by default, enable with an override.",
	  "FROM rockylinux:9\nRUN yum update\n", "FROM rockylinux:9\nRUN yum check\n"),
	R("DL3032", HL, W, "`yum clean all` missing after yum command.",
	  "The yum cache stays in the layer otherwise.",
	  "FROM rockylinux:9\nRUN yum install -y httpd-2.4.57\n",
	  "FROM rockylinux:9\nRUN yum install -y httpd-2.4.57 && yum clean all\n"),
	R("DL3033", HL, W, "Specify version with `yum install -y <package>-<version>`.",
	  "Unpinned packages make builds unrepeatable.",
	  "FROM rockylinux:9\nRUN yum install -y httpd && yum clean all\n",
	  "FROM rockylinux:9\nRUN yum install -y httpd-2.4.57 && yum clean all\n"),
	R("DL3034", HL, W,
	  "Non-interactive switch missing from `zypper` command: `zypper install -y`",
	  "Without -n/-y zypper waits for an answer.",
	  "FROM opensuse/leap:15.6\nRUN zypper install httpd=2.4.58 && zypper clean\n",
	  "FROM opensuse/leap:15.6\nRUN zypper install -y httpd=2.4.58 && zypper clean\n"),
	R("DL3035", HL, W, "Do not use `zypper dist-upgrade`.",
	  "A distribution upgrade inside a build replaces the base image's release.",
	  "FROM opensuse/leap:15.6\nRUN zypper dist-upgrade\n",
	  "FROM opensuse/leap:15.6\nRUN zypper refresh\n"),
	R("DL3036", HL, W, "`zypper clean` missing after zypper use.",
	  "The zypper cache stays in the layer otherwise.",
	  "FROM opensuse/leap:15.6\nRUN zypper install -y httpd=2.4.58\n",
	  "FROM opensuse/leap:15.6\nRUN zypper install -y httpd=2.4.58 && zypper clean\n"),
	R("DL3037", HL, W, "Specify version with `zypper install -y <package>=<version>`.",
	  "Unpinned packages make builds unrepeatable.",
	  "FROM opensuse/leap:15.6\nRUN zypper install -y httpd && zypper clean\n",
	  "FROM opensuse/leap:15.6\nRUN zypper install -y httpd=2.4.58 && zypper clean\n"),
	R("DL3038", HL, W, "Use the -y switch to avoid manual input `dnf install -y <package>`",
	  "Without -y dnf waits for an answer.",
	  "FROM fedora:40\nRUN dnf install httpd-2.4.62 && dnf clean all\n",
	  "FROM fedora:40\nRUN dnf install -y httpd-2.4.62 && dnf clean all\n"),
	R("DL3039", HL, OFF, "Do not use dnf update",
	  "Retired in hadolint 2; kept off by default, enable with an override.",
	  "FROM fedora:40\nRUN dnf update\n", "FROM fedora:40\nRUN dnf check\n"),
	R("DL3040", HL, W, "`dnf clean all` missing after dnf command.",
	  "The dnf cache stays in the layer otherwise.",
	  "FROM fedora:40\nRUN dnf install -y httpd-2.4.62\n",
	  "FROM fedora:40\nRUN dnf install -y httpd-2.4.62 && dnf clean all\n"),
	R("DL3041", HL, W, "Specify version with `dnf install -y <package>-<version>`",
	  "Unpinned packages make builds unrepeatable.",
	  "FROM fedora:40\nRUN dnf install -y httpd && dnf clean all\n",
	  "FROM fedora:40\nRUN dnf install -y httpd-2.4.62 && dnf clean all\n"),
	R("DL3042", HL, W,
	  "Avoid use of cache directory with pip. Use `pip install --no-cache-dir <package>`",
	  "pip's download cache stays in the layer otherwise.",
	  "FROM python:3.12\nRUN pip install -r requirements.txt\n",
	  "FROM python:3.12\nRUN pip install --no-cache-dir -r requirements.txt\n"),
	R("DL3043", HL, E,
	  "`ONBUILD`, `FROM` or `MAINTAINER` triggered from within `ONBUILD` instruction.",
	  "BuildKit refuses these triggers.", "FROM alpine:3.20\nONBUILD FROM debian:12\n",
	  "FROM alpine:3.20\nONBUILD RUN echo hi\n"),
	R("DL3044", HL, E,
	  "Do not refer to an environment variable within the same `ENV` statement where it is "
	  "defined.",
	  "The reference sees the value from before the ENV, not the one being set.",
	  "FROM alpine:3.20\nENV A=1 B=$A\n", "FROM alpine:3.20\nENV A=1\nENV B=$A\n"),
	R("DL3045", HL, W, "`COPY` to a relative destination without `WORKDIR` set.",
	  "The destination then depends on the base image's working directory.",
	  "FROM alpine:3.20\nCOPY app.py app/\n",
	  "FROM alpine:3.20\nWORKDIR /srv\nCOPY app.py app/\n"),
	R("DL3046", HL, W,
	  "`useradd` without flag `-l` and high UID will result in excessively large Image.",
	  "useradd fills /var/log/lastlog sparsely up to the UID; -l skips it.",
	  "FROM debian:12\nRUN useradd -u 123456 app\n",
	  "FROM debian:12\nRUN useradd -l -u 123456 app\n"),
	R("DL3047", HL, I,
	  "Avoid use of wget without progress bar. Use `wget --progress=dot:giga <url>`. Or "
	  "consider "
	  "using `-q` or `-nv` (shorthands for `--quiet` or `--no-verbose`).",
	  "wget's default progress output floods build logs.",
	  "FROM alpine:3.20\nRUN wget https://example.com/a.tgz\n",
	  "FROM alpine:3.20\nRUN wget -q https://example.com/a.tgz\n"),
	R("DL3048", HL, S, "Invalid label key.",
	  "Label keys are lower-case reverse-DNS names without reserved namespaces.",
	  "FROM alpine:3.20\nLABEL Version=1\n", "FROM alpine:3.20\nLABEL version=1\n"),
	RC("DL3049", HL, I, "Label `<label>` is missing.",
	   "The label-schema of the configuration requires the label in the final stage.",
	   "FROM alpine:3.20\n",
	   "FROM alpine:3.20\nLABEL org.opencontainers.image.source=\"https://example.com/x\"\n",
	   "label-schema:\n  org.opencontainers.image.source: url\n"),
	RC("DL3050", HL, I, "Superfluous label(s) present.",
	   "With strict-labels only the labels of the schema are allowed.",
	   "FROM alpine:3.20\nLABEL team=ops\n",
	   "FROM alpine:3.20\nLABEL org.opencontainers.image.version=1.0.0\n",
	   "strict-labels: true\nlabel-schema:\n  org.opencontainers.image.version: semver\n"),
	RC("DL3051", HL, W, "Label `<label>` is empty.", "A schema label must carry a value.",
	   "FROM alpine:3.20\nLABEL org.opencontainers.image.source=\"\"\n",
	   "FROM alpine:3.20\nLABEL org.opencontainers.image.source=\"https://example.com/x\"\n",
	   LABELS),
	RC("DL3052", HL, W, "Label `<label>` is not a valid URL.",
	   "The schema types the label as a URL.",
	   "FROM alpine:3.20\nLABEL org.opencontainers.image.source=\"example\"\n",
	   "FROM alpine:3.20\nLABEL org.opencontainers.image.source=\"https://example.com/x\"\n",
	   LABELS),
	RC("DL3053", HL, W, "Label `<label>` is not a valid time format - must conform to RFC3339.",
	   "The schema types the label as an RFC 3339 time.",
	   "FROM alpine:3.20\nLABEL org.opencontainers.image.created=\"yesterday\"\n",
	   "FROM alpine:3.20\nLABEL org.opencontainers.image.created=\"2026-01-02T03:04:05Z\"\n",
	   LABELS),
	RC("DL3054", HL, W, "Label `<label>` is not a valid SPDX license identifier.",
	   "The schema types the label as an SPDX expression (common ids and LicenseRef-).",
	   "FROM alpine:3.20\nLABEL org.opencontainers.image.licenses=\"Apache 2\"\n",
	   "FROM alpine:3.20\nLABEL org.opencontainers.image.licenses=\"Apache-2.0\"\n", LABELS),
	RC("DL3055", HL, W, "Label `<label>` is not a valid git hash.",
	   "The schema types the label as a 7- or 40-digit git hash.",
	   "FROM alpine:3.20\nLABEL org.opencontainers.image.revision=\"main\"\n",
	   "FROM alpine:3.20\nLABEL org.opencontainers.image.revision=\"0123abc\"\n", LABELS),
	RC("DL3056", HL, W, "Label `<label>` does not conform to semantic versioning.",
	   "The schema types the label as a semantic version.",
	   "FROM alpine:3.20\nLABEL org.opencontainers.image.version=\"v1\"\n",
	   "FROM alpine:3.20\nLABEL org.opencontainers.image.version=\"1.2.3\"\n", LABELS),
	RC("DL3057", HL, OFF, "`HEALTHCHECK` instruction missing.",
	   "Off by default as in hadolint (BL002 is the company's version); enable with an "
	   "override.",
	   "FROM alpine:3.20\n", "FROM alpine:3.20\nHEALTHCHECK CMD [\"true\"]\n",
	   "override:\n  info:\n    - DL3057\n"),
	RC("DL3058", HL, W,
	   "Label `<label>` is not a valid email format - must conform to RFC5322.",
	   "The schema types the label as an e-mail address.",
	   "FROM alpine:3.20\nLABEL org.opencontainers.image.authors=\"ops\"\n",
	   "FROM alpine:3.20\nLABEL org.opencontainers.image.authors=\"ops@example.com\"\n",
	   LABELS),
	R("DL3059", HL, I, "Multiple consecutive `RUN` instructions. Consider consolidation.",
	  "Each RUN is a layer; short consecutive RUNs with the same flags belong together "
	  "(chains of three or more commands are taken as deliberate, as hadolint does).",
	  "FROM alpine:3.20\nRUN echo a\nRUN echo b\n", "FROM alpine:3.20\nRUN echo a && echo b\n"),
	R("DL3060", HL, I, "`yarn cache clean` missing after `yarn install` was run.",
	  "Yarn's cache stays in the layer otherwise.", "FROM node:20\nRUN yarn install\n",
	  "FROM node:20\nRUN yarn install && yarn cache clean\n"),
	R("DL3061", HL, E,
	  "Invalid instruction order. Dockerfile must begin with `FROM`, `ARG` or comment.",
	  "Only ARG may come before the first FROM.", "RUN echo hi\nFROM alpine:3.20\n",
	  "ARG V=3.20\nFROM alpine:${V}\n"),
	R("DL4000", HL, E, "MAINTAINER is deprecated",
	  "Use LABEL org.opencontainers.image.authors instead.",
	  "FROM alpine:3.20\nMAINTAINER ops@example.com\n",
	  "FROM alpine:3.20\nLABEL org.opencontainers.image.authors=\"ops@example.com\"\n"),
	R("DL4001", HL, W, "Either use Wget or Curl but not both",
	  "Two download tools in one stage is one too many in the image.",
	  "FROM alpine:3.20\nRUN wget -q https://example.com/a\nRUN curl -fsSO "
	  "https://example.com/b\n",
	  "FROM alpine:3.20\nRUN curl -fsSO https://example.com/a\nRUN curl -fsSO "
	  "https://example.com/b\n"),
	R("DL4003", HL, W,
	  "Multiple `CMD` instructions found. If you list more than one `CMD` then only "
	  "the last `CMD` will take effect",
	  "Only the last CMD of a stage counts.", "FROM alpine:3.20\nCMD [\"a\"]\nCMD [\"b\"]\n",
	  "FROM alpine:3.20\nCMD [\"b\"]\n"),
	R("DL4004", HL, E,
	  "Multiple `ENTRYPOINT` instructions found. If you list more than one "
	  "`ENTRYPOINT` then only the last `ENTRYPOINT` will take effect",
	  "Only the last ENTRYPOINT of a stage counts.",
	  "FROM alpine:3.20\nENTRYPOINT [\"a\"]\nENTRYPOINT [\"b\"]\n",
	  "FROM alpine:3.20\nENTRYPOINT [\"b\"]\n"),
	R("DL4005", HL, W, "Use SHELL to change the default shell",
	  "Replacing /bin/sh by a symlink is invisible; SHELL says it.",
	  "FROM debian:12\nRUN ln -sf /bin/bash /bin/sh\n",
	  "FROM debian:12\nSHELL [\"/bin/bash\", \"-c\"]\n"),
	R("DL4006", HL, W,
	  "Set the SHELL option -o pipefail before RUN with a pipe in it. If you are "
	  "using /bin/sh in an alpine image or if your shell is symlinked to busybox then consider "
	  "explicitly setting your SHELL to /bin/ash, or disable this check",
	  "Without pipefail a failing command before a pipe does not fail the build.",
	  "FROM debian:12\nRUN curl -fsS https://example.com | sh\n",
	  "FROM debian:12\nSHELL [\"/bin/bash\", \"-o\", \"pipefail\", \"-c\"]\nRUN curl -fsS "
	  "https://example.com | sh\n"),

	/* ---- company rules ---- */
	R("BL001", BL, E, "The final stage runs as a non-root USER",
	  "A container that runs as root turns any escape into host root. The final stage (or a "
	  "stage it is built FROM) must end with a USER that is not root or 0, unless its base "
	  "image is a `nonroot` variant (distroless/Chainguard `:nonroot` or `-nonroot` tags, "
	  "whose "
	  "configuration sets a non-root user).",
	  "FROM alpine:3.20\nHEALTHCHECK CMD [\"true\"]\nCMD [\"app\"]\n",
	  "FROM alpine:3.20\nUSER 10001\nHEALTHCHECK CMD [\"true\"]\nCMD [\"app\"]\n"),
	R("BL002", BL, W, "The final stage has a HEALTHCHECK",
	  "Orchestrators restart what they can see is unhealthy. Not required when the final image "
	  "has no shell (scratch or distroless base): a HEALTHCHECK there needs a binary of its "
	  "own, "
	  "so the rule stays silent and the service's own probe applies.",
	  "FROM alpine:3.20\nUSER 10001\nCMD [\"app\"]\n",
	  "FROM alpine:3.20\nUSER 10001\nHEALTHCHECK CMD [\"app\", \"--health\"]\nCMD [\"app\"]\n"),
	R("BL003", BL, E, "Base images are pinned (no `latest`, no missing tag)",
	  "A moving base image changes what ships without a code change; pin a version, and "
	  "preferably a digest (BL011).",
	  "FROM alpine\nUSER 10001\n", "FROM alpine:3.20\nUSER 10001\n"),
	RC("BL004", BL, E, "Base images come from a trusted registry",
	   "Only registries the company scans and mirrors may supply base images. With no trusted "
	   "registries configured (--trusted-registry, trustedRegistries) the rule is silent.",
	   "FROM docker.io/library/alpine:3.20\n", "FROM registry.company.com/base/alpine:3.20\n",
	   "trustedRegistries:\n  - registry.company.com\n"),
	R("BL005", BL, W,
	  "`apt-get install` uses --no-install-recommends and the lists are removed in the same "
	  "RUN",
	  "Recommends and /var/lib/apt/lists bloat the layer; an update in a RUN of its own leaves "
	  "a "
	  "stale cached index for later installs.",
	  "FROM debian:12\nRUN apt-get update && apt-get install -y curl\n",
	  "FROM debian:12\nRUN apt-get update && apt-get install -y --no-install-recommends curl "
	  "&& "
	  "rm -rf /var/lib/apt/lists/*\n"),
	R("BL006", BL, W, "Consecutive RUN instructions are combined",
	  "Every RUN is a layer; RUNs that follow each other (comments between allowed) with the "
	  "same flags can be one.",
	  "FROM alpine:3.20\nRUN apk add --no-cache curl\nRUN apk add --no-cache git\n",
	  "FROM alpine:3.20\nRUN apk add --no-cache curl git\n"),
	R("BL007", BL, W, "Dependency manifests are copied and installed before `COPY . .`",
	  "Installing dependencies after copying the whole source reinstalls them on every source "
	  "edit; copy package.json, requirements.txt, go.mod... first.",
	  "FROM node:20\nWORKDIR /app\nCOPY . .\nRUN npm ci\n",
	  "FROM node:20\nWORKDIR /app\nCOPY package.json package-lock.json ./\nRUN npm ci\nCOPY . "
	  ".\n"),
	R("BL008", BL, E, "No secret-looking files are copied into the image",
	  "Files such as .npmrc, .env, id_rsa or *.pem stay in the layer forever; use RUN "
	  "--mount=type=secret.",
	  "FROM node:20\nWORKDIR /app\nCOPY .npmrc package.json ./\n",
	  "FROM node:20\nWORKDIR /app\nCOPY package.json ./\nRUN "
	  "--mount=type=secret,id=npmrc,target=/app/.npmrc npm ci\n"),
	R("BL009", BL, W, "The final stage does not carry build tools",
	  "Compilers and build steps belong in a build stage; the final stage should COPY --from "
	  "only the result (a multi-stage build).",
	  "FROM golang:1.22\nWORKDIR /src\nCOPY . .\nRUN go build -o /app .\n",
	  "FROM golang:1.22 AS build\nWORKDIR /src\nCOPY . .\nRUN go build -o /app .\n"
	  "FROM gcr.io/distroless/static-debian12:nonroot\nCOPY --from=build /app /app\n"),
	RI("BL010", BL, W, "The build context has a .dockerignore that excludes .git and .env*",
	   "Without it the context ships the repository history and local secrets to the builder. "
	   "Checked when the context is known (a Dockerfile path, --context or --dockerignore); "
	   "the "
	   "flagged example below is linted in a context without a .dockerignore.",
	   "FROM alpine:3.20\n", "FROM alpine:3.20\n", ".git\n.env*\n"),
	R("BL012", BL, W, "RUN uses only ARGs declared in its stage",
	  "ARGs before the first FROM (and the automatic platform ARGs such as TARGETARCH) are "
	  "visible to FROM lines only; a stage must redeclare them (`ARG NAME`) before its RUN "
	  "commands see them. Otherwise they expand to nothing in the shell.",
	  "ARG TARGETOS\nFROM golang:1.22\nRUN GOOS=$TARGETOS go env GOOS\n",
	  "ARG TARGETOS\nFROM golang:1.22\nARG TARGETOS\nRUN GOOS=$TARGETOS go env GOOS\n"),
	R("BL013", BL, E, "No shell-form RUN on a base image without a shell",
	  "scratch and distroless images (except their :debug variants) have no /bin/sh, so a "
	  "shell-form RUN cannot start; do the work in a build stage and COPY --from the result.",
	  "FROM gcr.io/distroless/static-debian12:nonroot\nRUN rm -rf /tmp/cache\n",
	  "FROM alpine:3.20 AS build\nRUN mkdir -p /out\n"
	  "FROM gcr.io/distroless/static-debian12:nonroot\nCOPY --from=build /out /out\n"),
	R("BL011", BL, OFF, "Base images are pinned by digest",
	  "A digest pins the exact bytes; recommended, so off by default (turn it on with an "
	  "override).",
	  "FROM alpine:3.20\n",
	  "FROM "
	  "alpine:3.20@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n"),
};

const size_t berth_lint__ntable = sizeof(berth_lint__table) / sizeof(berth_lint__table[0]);
