/** The dashboard: bull-board over the queues, migration runs, auth. `s3jobs dashboard` runs `runDashboardCommand`. */
export { startDashboard, dashboardUrl, DASHBOARD_PATHS, DEFAULT_DASHBOARD_HOST, DEFAULT_DASHBOARD_PORT, type Dashboard, type DashboardOptions } from './server.js';
export { runDashboardCommand, parseDashboardArgs, DASHBOARD_HELP, DASHBOARD_EXIT, type DashboardArgs, type DashboardIo } from './command.js';
export { type DashboardAuth, isLoopbackHost } from './auth.js';
export { noMigrationRuns, runStoreSource, type MigrationRunSource, type MigrationRunSummary } from './runs.js';
