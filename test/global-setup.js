// Tests compare against mdtraj and OpenMM in Debian's Python. Install them only
// when absent and only where apt can run (root); otherwise the tests that need
// them skip with a message (see test/python.ts).
const { spawnSync } = require('child_process');

const PACKAGES = { mdtraj: 'python3-mdtraj', openmm: 'python3-simtk libopenmm-plugins' };

function has(module) {
  return spawnSync('/usr/bin/python3', ['-c', `import ${module}`], { stdio: 'ignore' }).status === 0;
}

module.exports = async () => {
  const missing = Object.keys(PACKAGES).filter((m) => !has(m));
  if (missing.length === 0) return;
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  const apt = spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status === 0;
  if (!root || !apt) {
    console.log(`\n[setup] ${missing.join(', ')} missing in /usr/bin/python3 and apt-get is not usable here: tests that compare against them will skip`);
    return;
  }
  const pkgs = missing.flatMap((m) => PACKAGES[m].split(' '));
  console.log(`\n[setup] installing ${pkgs.join(' ')} for the reference comparisons`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  let r = spawnSync('apt-get', ['install', '-y', '-q', ...pkgs], { stdio: 'ignore', env, timeout: 600000 });
  if (r.status !== 0) {
    spawnSync('apt-get', ['update', '-q'], { stdio: 'ignore', env, timeout: 300000 });
    r = spawnSync('apt-get', ['install', '-y', '-q', ...pkgs], { stdio: 'ignore', env, timeout: 600000 });
  }
  if (r.status !== 0) console.log(`[setup] could not install ${pkgs.join(' ')}: tests that need them will skip`);
};
