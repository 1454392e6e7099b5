-- The door: which device checked a ticket in (with `used_at` and `used_by`,
-- what a steward is told when a ticket comes back a second time).
ALTER TABLE tickets ADD COLUMN used_device TEXT;
