"""Print Pipfile.lock's packages as a pip requirements file with hashes (stdlib only).

The Docker image installs its dependencies with it, so the image gets exactly the versions (and
files, checked by hash) that Heroku installs from the same lock:

    python requirements_from_lock.py Pipfile.lock > requirements.lock
    pip install --require-hashes -r requirements.lock

The project itself (the lock's path entry) is left out: it is installed from the checkout.
"""
import json
import sys


def requirements(lock, section="default"):
    lines = []
    for name, entry in sorted(lock.get(section, {}).items()):
        if not isinstance(entry, dict) or "version" not in entry:
            continue                       # a path, file or VCS entry: the project itself
        extras = "[%s]" % ",".join(entry["extras"]) if entry.get("extras") else ""
        line = "%s%s%s" % (name, extras, entry["version"])
        if entry.get("markers"):
            line += " ; %s" % entry["markers"]
        for digest in entry.get("hashes", []):
            line += " \\\n    --hash=%s" % digest
        lines.append(line)
    return "\n".join(lines) + "\n"


def main(argv):
    if len(argv) != 2:
        print("usage: python requirements_from_lock.py Pipfile.lock > requirements.lock", file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as fh:
        sys.stdout.write(requirements(json.load(fh)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
