# Every region's module in the order of var.regions (main.tf: one module block per region).
locals {
  region_modules = [module.region_a, module.region_b, module.region_c]
}

output "proxy_addresses" {
  description = "Node proxy gRPC addresses by region (voters list all of them, their own region first)."
  value       = { for i, m in local.region_modules : var.regions[i].name => m.proxy_addresses }
}

output "vspd_wallet_hosts" {
  description = "vspd's wallethost list: every region's admin wallet endpoint."
  value       = flatten([for m in local.region_modules : m.admin_wallet_hosts])
}

output "etcd_endpoints" {
  description = "etcd client URLs of every member."
  value       = flatten([for m in local.region_modules : m.etcd_client_urls])
}

output "voter_addresses" {
  description = "Private IPs of the voters, by region (Prometheus scrape targets)."
  value       = { for i, m in local.region_modules : var.regions[i].name => m.voter_private_ips }
}
