"Package setup: every piece of metadata and every requirement comes from settings.ini (nbdev 2 layout)."
import re
from configparser import ConfigParser
from pathlib import Path
import setuptools

cfg = ConfigParser(delimiters=['='])
cfg.read(Path(__file__).parent/'settings.ini', encoding='utf-8')
cfg = cfg['DEFAULT']

licenses = {'apache2': 'Apache-2.0'}   # settings.ini's nbdev name -> SPDX expression (PEP 639)
statuses = ['Planning', 'Pre-Alpha', 'Alpha', 'Beta', 'Production/Stable', 'Mature', 'Inactive']
lic = licenses[cfg['license']]
readme = Path(__file__).parent/'README.md'

def for_pypi(md:str)->str:
    "README with relative image and link targets made absolute (raw files / GitHub pages), as PyPI shows no repo files"
    repo, br = cfg['git_url'].rstrip('/'), cfg['branch']
    raw = repo.replace('https://github.com/', 'https://raw.githubusercontent.com/') + f'/{br}/'
    rel = r'(?![a-zA-Z][a-zA-Z0-9+.-]*:|#|/)'                          # not a URL, an anchor or an absolute path
    md = re.sub(r'(!\[[^\]]*\]\()' + rel + r'([^)\s]+)', lambda m: m[1] + raw + m[2], md)
    return re.sub(r'((?<!!)\[[^\]]*\]\()' + rel + r'([^)\s]+)', lambda m: m[1] + f'{repo}/blob/{br}/' + m[2], md)
# extras: `<name>_requirements` keys of settings.ini; `all` is every user-facing extra (dev is the contributors' set)
extras = {k[:-len('_requirements')]: cfg[k].split() for k in cfg if k.endswith('_requirements') and k != 'requirements'}
extras['all'] = sorted({r for k, v in extras.items() if k != 'dev' for r in v})

setuptools.setup(
    name=cfg['lib_name'], version=cfg['version'], description=cfg['description'],
    long_description=for_pypi(readme.read_text(encoding='utf-8')) if readme.exists() else '',
    long_description_content_type='text/markdown',
    author=cfg['author'], author_email=cfg['author_email'], license_expression=lic, license_files=['LICENSE'],
    url=cfg['git_url'], keywords=cfg['keywords'].split(),
    classifiers=['Development Status :: ' + f"{int(cfg['status'])+1} - {statuses[int(cfg['status'])]}",
                 'Intended Audience :: ' + cfg['audience'].title(),
                 'Natural Language :: ' + cfg['language'].title(), 'Programming Language :: Python :: 3'],
    packages=setuptools.find_packages(include=[cfg['lib_path'], cfg['lib_path'] + '.*']),
    package_data={cfg['lib_path']: ['assets/*']},   # shipped weights (e.g. the MNIST feature network), see MANIFEST.in
    include_package_data=False, zip_safe=False,     # package data is exactly package_data (MANIFEST.in: the sdist)
    python_requires='>=' + cfg['min_python'],
    install_requires=cfg['requirements'].split(),
    extras_require=extras,
    entry_points={'console_scripts': cfg['console_scripts'].split(),
                  'nbdev': [f"{cfg['lib_path']}={cfg['lib_path']}._modidx:d"]},
)
