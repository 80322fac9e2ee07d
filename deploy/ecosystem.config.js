// PM2 process file for pi-crm on a Raspberry Pi.
//
//   pm2 start deploy/ecosystem.config.js && pm2 save && pm2 startup
//
// See deploy/README.md. The data directory (database + secret.key) lives in
// /var/lib/pi-crm, outside the source tree, and must be writable by the user
// that runs PM2.
module.exports = {
  apps: [
    {
      name: 'pi-crm',
      script: '/opt/pi-crm/pi-crm',
      args: 'serve --bind 0.0.0.0:8080 --data-dir /var/lib/pi-crm',
      // A native binary: run it directly, not through node.
      interpreter: 'none',
      exec_mode: 'fork',
      instances: 1,
      env: {
        RUST_LOG: 'info',
      },
      autorestart: true,
      watch: false,
      // PM2 sends SIGINT on stop/restart, then SIGKILL after kill_timeout ms;
      // give the graceful shutdown time to finish.
      kill_timeout: 15000,
      max_memory_restart: '300M',
    },
  ],
};
