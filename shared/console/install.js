// Install and publish instructions per ecosystem, with the registry's real URL. Each ecosystem is one entry
// of INSTRUCTIONS; an ecosystem added later (maven, ruby, debian, rpm) registers its own with `register`.
// `token` is the placeholder TOKEN until the person asks for a real one to be filled in.

const INSTRUCTIONS = new Map();

/**
 * Adds or replaces the instructions for `ecosystem`: `build({base, host, org, slug, token, pkg})` returns
 * `{install: [{title, text, note?}], publish: [...]}`.
 */
export function register(ecosystem, build) {
  INSTRUCTIONS.set(ecosystem, build);
}

/** The instructions for a registry, or null for an ecosystem nobody registered yet. */
export function instructions(ecosystem, context) {
  const build = INSTRUCTIONS.get(ecosystem);
  return build ? build(context) : null;
}

register('npm', ({ base, host, org, slug, token, pkg }) => {
  const url = `${base}/npm/${org}/${slug}/`;
  const npmrc = `registry=${url}\n${url.replace(/^https?:/, '')}:_authToken=${token}\n`;
  return {
    install: [
      { title: '.npmrc', text: npmrc, note: 'In the project folder (or ~/.npmrc). For one scope only, write @scope:registry= instead of registry=.' },
      { title: 'Install', text: `npm install ${pkg || '<package>'}\n` },
    ],
    publish: [
      { title: '.npmrc for publishing', text: npmrc, note: 'The token needs the write_packages scope.' },
      { title: 'Publish', text: 'npm publish\n' },
    ],
  };
});

register('python', ({ base, org, slug, token, pkg }) => {
  const scheme = base.startsWith('https:') ? 'https' : 'http';
  const rest = base.replace(/^https?:\/\//, '');
  const index = `${scheme}://__token__:${token}@${rest}/pypi/${org}/${slug}/simple/`;
  return {
    install: [
      { title: 'pip.conf', text: `[global]\nindex-url = ${index}\n`, note: 'Or export PIP_INDEX_URL with the same URL.' },
      { title: 'uv.toml', text: `[[index]]\nname = "${org}-${slug}"\nurl = "${index}"\ndefault = true\n` },
      { title: 'Install', text: `pip install ${pkg || '<project>'}\n` },
    ],
    publish: [
      { title: '.pypirc', text: `[distutils]\nindex-servers = packyard\n\n[packyard]\nrepository = ${base}/pypi/${org}/${slug}/legacy/\nusername = __token__\npassword = ${token}\n` },
      { title: 'Publish with twine', text: 'twine upload --repository packyard dist/*\n' },
      { title: 'Publish with uv', text: `uv publish --publish-url ${base}/pypi/${org}/${slug}/legacy/ --username __token__ --password ${token} dist/*\n` },
    ],
  };
});

register('cargo', ({ base, org, slug, token, pkg }) => {
  const config = `[registries.${slug}]\nindex = "sparse+${base}/cargo/${org}/${slug}/index/"\ncredential-provider = ["cargo:token"]\n`;
  const env = `export CARGO_REGISTRIES_${slug.toUpperCase().replace(/-/g, '_')}_TOKEN=${token}\n`;
  return {
    install: [
      { title: '.cargo/config.toml', text: config },
      { title: 'Token', text: env },
      { title: 'Cargo.toml', text: `[dependencies]\n${pkg || 'my-crate'} = { version = "*", registry = "${slug}" }\n` },
    ],
    publish: [
      { title: '.cargo/config.toml', text: config },
      { title: 'Publish', text: `${env}cargo publish --registry ${slug}\n`, note: `Mark the crate publish = ["${slug}"] in its Cargo.toml.` },
    ],
  };
});

register('oci', ({ host, base, org, slug, token, pkg }) => {
  const image = `${host}/${org}/${slug}/${pkg || 'app'}`;
  const tls = base.startsWith('https:') ? '' : ' --src-tls-verify=false';
  return {
    install: [
      { title: 'docker', text: `echo ${token} | docker login ${host} -u token --password-stdin\ndocker pull ${image}:latest\n` },
      { title: 'skopeo', text: `skopeo copy --src-creds token:${token}${tls} docker://${image}:latest oci:./image:latest\n` },
    ],
    publish: [
      { title: 'docker', text: `echo ${token} | docker login ${host} -u token --password-stdin\ndocker tag app:latest ${image}:latest\ndocker push ${image}:latest\n` },
      { title: 'skopeo', text: `skopeo copy --dest-creds token:${token}${tls.replace('src', 'dest')} oci:./image:latest docker://${image}:latest\n` },
    ],
  };
});

register('maven', ({ base, org, slug, token, pkg }) => {
  const url = `${base}/maven/${org}/${slug}`;
  const [groupId, artifactId] = (pkg || 'com.example:artifact').split(':');
  const settings = `<!-- ~/.m2/settings.xml -->\n<settings>\n  <servers>\n    <server>\n      <id>${slug}</id>\n      <username>token</username>\n      <password>${token}</password>\n    </server>\n  </servers>\n</settings>\n`;
  return {
    install: [
      { title: 'settings.xml', text: settings, note: 'Maven sends these credentials after the registry asks for them (a Bearer header in <httpHeaders> works too).' },
      { title: 'pom.xml', text: `<repositories>\n  <repository>\n    <id>${slug}</id>\n    <url>${url}</url>\n    <snapshots><enabled>true</enabled></snapshots>\n  </repository>\n</repositories>\n<dependencies>\n  <dependency>\n    <groupId>${groupId}</groupId>\n    <artifactId>${artifactId || 'artifact'}</artifactId>\n    <version>LATEST-VERSION</version>\n  </dependency>\n</dependencies>\n` },
      { title: 'Gradle', text: `repositories {\n  maven {\n    url '${url}'\n    credentials { username 'token'; password '${token}' }\n  }\n}\n` },
    ],
    publish: [
      { title: 'settings.xml', text: settings, note: 'The token needs the write_packages scope.' },
      { title: 'pom.xml', text: `<distributionManagement>\n  <repository><id>${slug}</id><url>${url}</url></repository>\n  <snapshotRepository><id>${slug}</id><url>${url}</url></snapshotRepository>\n</distributionManagement>\n` },
      { title: 'Deploy', text: 'mvn deploy\n', note: 'A release version is deployed once; a -SNAPSHOT takes new builds.' },
    ],
  };
});

register('files', ({ base, org, slug, token, pkg }) => {
  const file = pkg || 'tool-1.2.3.tar.gz';
  return {
    install: [
      { title: 'Download with curl', text: `curl -fL -H "Authorization: Bearer ${token}" -O ${base}/files/${org}/${slug}/${file}\n` },
    ],
    publish: [
      { title: 'Upload with curl', text: `curl -f -H "Authorization: Bearer ${token}" -F file=@${file} ${base}/v1/organizations/${org}/registries/${slug}/packages\n` },
      { title: 'Upload with packyard push', text: `export PACKYARD_URL=${base} PACKYARD_TOKEN=${token}\npackyard push --org ${org} --registry ${slug} ${file}\n`, note: 'Any size: the bytes go straight to storage.' },
    ],
  };
});

register('ruby', ({ base, host, org, slug, token, pkg }) => {
  const source = `${base}/ruby/${org}/${slug}/`;
  const withToken = source.replace(/^(https?:\/\/)/, `$1token:${token}@`);
  const gem = pkg || 'my-gem';
  return {
    install: [
      { title: 'Bundler credentials', text: `bundle config set --global ${source} token:${token}\n`, note: 'Keeps the token out of the Gemfile and Gemfile.lock. In CI, set BUNDLE_ followed by the host in capitals, dots as __, to token:<token>.' },
      { title: 'Gemfile', text: `source "${source}"\ngem "${gem}"\n` },
      { title: 'gem install', text: `gem install ${gem} --clear-sources --source ${withToken}\n` },
    ],
    publish: [
      { title: 'gem push', text: `GEM_HOST_API_KEY=${token} gem push --host ${base}/ruby/${org}/${slug} ${gem}-1.0.0.gem\n`, note: 'The token needs the write_packages scope.' },
      { title: 'gem yank', text: `GEM_HOST_API_KEY=${token} gem yank ${gem} -v 1.0.0 --host ${base}/ruby/${org}/${slug}\n` },
    ],
  };
});

register('debian', ({ base, host, org, slug, token, pkg }) => {
  const repo = `${base}/deb/${org}/${slug}`;
  const name = pkg || 'my-package';
  return {
    install: [
      { title: 'Signing key', text: `curl -fsS -H "Authorization: Bearer ${token}" ${repo}/gpgkey | sudo tee /etc/apt/keyrings/${slug}.asc\n` },
      { title: 'Source', text: `echo "deb [signed-by=/etc/apt/keyrings/${slug}.asc] ${repo} any main" | sudo tee /etc/apt/sources.list.d/packyard-${slug}.list\n` },
      { title: 'Credentials', text: `echo "machine ${repo} login token password ${token}" | sudo tee /etc/apt/auth.conf.d/packyard-${slug}.conf\nsudo chmod 600 /etc/apt/auth.conf.d/packyard-${slug}.conf\n`, note: 'apt sends credentials over http:// only to a machine written with its scheme.' },
      { title: 'apt-get', text: `sudo apt-get update && sudo apt-get install ${name}\n` },
    ],
    publish: [
      { title: 'curl', text: `curl -H "Authorization: Bearer ${token}" -F file=@${name}_1.0-1_amd64.deb ${base}/v1/organizations/${org}/registries/${slug}/packages\n`, note: 'The name, version and architecture come from the .deb\'s control file. The token needs the write_packages scope.' },
    ],
  };
});

register('rpm', ({ base, org, slug, token, pkg }) => {
  const repo = `${base}/rpm/${org}/${slug}`;
  const name = pkg || 'my-package';
  return {
    install: [
      { title: 'Repository', text: `curl -fsS -H "Authorization: Bearer ${token}" ${repo}/packyard.repo | sed "s/<YOUR PACKYARD TOKEN>/${token}/" | sudo tee /etc/yum.repos.d/packyard-${slug}.repo\nsudo chmod 600 /etc/yum.repos.d/packyard-${slug}.repo\n`, note: 'The .repo file turns repo_gpgcheck on with the registry\'s key; the token is the password.' },
      { title: 'dnf', text: `sudo dnf install ${name}\n` },
    ],
    publish: [
      { title: 'curl', text: `curl -H "Authorization: Bearer ${token}" -F file=@${name}-1.0-1.x86_64.rpm ${base}/v1/organizations/${org}/registries/${slug}/packages\n`, note: 'The name, version and architecture come from the .rpm\'s header; the file must be named as rpmbuild names it. The token needs the write_packages scope.' },
      { title: 'packyard push', text: `PACKYARD_TOKEN=${token} packyard push --url ${base} --org ${org} --registry ${slug} ${name}-1.0-1.x86_64.rpm\n` },
    ],
  };
});
