-- The demo application's schema, applied on the primary by the app role
-- (app_schema_file) when a release is deployed, before it serves: the
-- application's own account may read and write rows, not change tables.
CREATE TABLE IF NOT EXISTS records (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  note VARCHAR(255) NOT NULL,
  written_by VARCHAR(64) NOT NULL,
  created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
) ENGINE=InnoDB;
